"""Upload an exported folder to the Hugging Face Hub (huggingface_hub). It needs the network and
a token; both are checked before any work, and a failed upload is one line that says why."""

from __future__ import annotations

from pathlib import Path

from hqclip.errors import UserError, first_line


def check_ready(repo: str) -> None:
    """Refuse before any work when an upload cannot happen: offline mode or no token."""
    import huggingface_hub

    if huggingface_hub.is_offline_mode():
        raise UserError(f"--push-to-hub {repo}: the Hub is in offline mode (HF_HUB_OFFLINE is set); unset it")
    if huggingface_hub.get_token() is None:
        raise UserError(f"--push-to-hub {repo}: no Hugging Face token; run `hf auth login` or set HF_TOKEN")


def push(folder: Path, repo: str) -> str:
    """Create the model repo if needed and upload `folder`; returns the repo's URL."""
    import huggingface_hub
    from huggingface_hub.utils import httpx

    api = huggingface_hub.HfApi()
    try:
        url = api.create_repo(repo, repo_type="model", exist_ok=True)
        api.upload_folder(repo_id=repo, folder_path=folder, commit_message="hqclip export")
    except (OSError, ValueError, httpx.HTTPError) as e:  # no network, refused token, bad repo id
        raise UserError(
            f"--push-to-hub {repo}: the upload failed ({first_line(e)}); the folder {folder} is written, "
            f"upload it later with `hf upload {repo} {folder}`"
        ) from e
    return str(url)
