"""The posture/activity states the core assigns to each epoch."""

STATES: tuple[str, ...] = ("moving", "standing", "sitting", "slouching", "lying", "not_worn", "no_data")
CODE: dict[str, int] = {name: i for i, name in enumerate(STATES)}

MOVING, STANDING, SITTING, SLOUCHING, LYING, NOT_WORN, NO_DATA = range(len(STATES))
