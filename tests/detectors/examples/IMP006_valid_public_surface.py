# expect: IMP006=0
import statistics
from typing import Any

import numpy as np


def improve_algorithm(initial_solution: Any, utility: Any, language_model: Any) -> Any:
    spread = statistics.pstdev([1.0, 2.0, 3.0])
    norm = np.linalg.norm(np.arange(3.0)) + np.random.default_rng(0).random()
    return initial_solution if spread + norm > 0 else initial_solution
