# expect: EVA001=1@low EVA001=1@medium
import numpy as np  # noqa: F401

value = eval("1 + 1")  # nosec B307
