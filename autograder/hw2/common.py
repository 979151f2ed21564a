"""Judge-side helpers of the HW2 judges: the toolkit's (autograder/judging), under the
names the HW2 judges import."""
from ..judging import channel_normalization, checking, part, short, undo_normalization  # noqa: F401
