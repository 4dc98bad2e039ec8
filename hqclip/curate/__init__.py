"""The other half of the cycle: a trained CLIP scores refined data (`score`), rules a user states
drop what it doubts (`filter`), and a quality report of any refined dataset (`report`)."""
