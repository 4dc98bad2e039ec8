from hqclip.refine.config import OpenAIOptions, RefineConfig


def test_openai_batches_fill_every_request_slot():
    assert RefineConfig(backend="openai").batch_size == OpenAIOptions().concurrency
    assert RefineConfig(backend="openai", options={"concurrency": 4}).batch_size == 16
    assert RefineConfig(backend="openai", batch_size=64).batch_size == 64
    assert RefineConfig(backend="oracle", options={"concurrency": 64}).batch_size == 16


def test_openai_options_missing_or_none_are_their_defaults():
    assert OpenAIOptions.of({"timeout": None, "device": "cpu", "retries": 0}) == OpenAIOptions(retries=0)
