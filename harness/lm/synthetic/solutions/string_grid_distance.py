"""Solution variants for ``string_grid_distance``: ``algorithm(t, dist)`` returns a string over
"AB" of length len(t) whose grid distance to t is exactly dist."""

from __future__ import annotations

from stopbox.harness.lm.synthetic.solutions import SOLUTIONS, Variant

__all__ = ["VARIANTS"]

GRID_DIST = """
def grid_dist(s, t):
    ans = sum(a != b for a, b in zip(s, t))
    ans += sum(a != b for a, b in zip(s, s[1:]))
    ans += sum(a != b for a, b in zip(t, t[1:]))
    return ans
"""

SYNTAX_ERROR = """def algorithm(t: str, dist: int):
    flipped = t.replace("A", "b").replace("B", "A").upper(
    return flipped
"""

EXCEPTION = """def algorithm(t: str, dist: int):
    # Pads the reversed string with the distance (str + int raises TypeError).
    return "".join(reversed(t)) + dist
"""

WRONG_TYPE = """def algorithm(t: str, dist: int):
    # Returns a list of characters instead of a string.
    return ["B" if c == "A" else "A" for c in t]
"""

SLOW = (
    "import itertools\n"
    + GRID_DIST
    + """
def algorithm(t: str, dist: int):
    # Exhaustive search over all 2^len(t) strings, scoring every one before choosing.
    best, best_gap = t, None
    for chars in itertools.product("AB", repeat=len(t)):
        s = "".join(chars)
        gap = abs(grid_dist(s, t) - dist)
        if best_gap is None or gap < best_gap:
            best, best_gap = s, gap
    return best
"""
)

IDENTITY = """def algorithm(t: str, dist: int):
    # The seed: t itself.
    return t
"""

RANDOM_SEARCH = (
    "import random\n"
    + GRID_DIST
    + """
def algorithm(t: str, dist: int):
    # Random strings; keep the one whose distance is closest to dist.
    rng = random.Random(0)
    best, best_gap = t, abs(grid_dist(t, t) - dist)
    for _ in range(3):
        s = "".join(rng.choice("AB") for _ in t)
        gap = abs(grid_dist(s, t) - dist)
        if gap < best_gap:
            best, best_gap = s, gap
        if gap == 0:
            break
    return best
"""
)

HILL_CLIMB = (
    "import random\n"
    + GRID_DIST
    + """
def algorithm(t: str, dist: int):
    # Start from t and flip single characters while that brings the distance closer to dist.
    rng = random.Random(0)
    s = list(t)
    gap = abs(grid_dist(s, t) - dist)
    for _ in range(20 * len(t)):
        if gap == 0:
            break
        i = rng.randrange(len(t))
        s[i] = "A" if s[i] == "B" else "B"
        new_gap = abs(grid_dist(s, t) - dist)
        if new_gap <= gap:
            gap = new_gap
        else:
            s[i] = "A" if s[i] == "B" else "B"
    return "".join(s)
"""
)

DYNAMIC_PROGRAMMING = """def algorithm(t: str, dist: int):
    # grid_dist(s, t) = mismatches(s, t) + changes(s) + changes(t): reach exactly
    # dist - changes(t) with a DP over (position, last character, cost so far), then walk back.
    n = len(t)
    target = dist - sum(a != b for a, b in zip(t, t[1:]))
    reach = [{c: set() for c in "AB"} for _ in range(n)]
    for c in "AB":
        reach[0][c].add(int(c != t[0]))
    for i in range(1, n):
        for c in "AB":
            for p in "AB":
                step = (c != p) + (c != t[i])
                reach[i][c].update(cost + step for cost in reach[i - 1][p])
    last = [c for c in "AB" if target in reach[n - 1][c]]
    if not last:
        return t
    s = [last[0]]
    need = target - (s[0] != t[n - 1])
    for i in range(n - 1, 0, -1):
        c = s[-1]
        p = next(p for p in "AB" if need - (c != p) in reach[i - 1][p])
        need -= (c != p)
        s.append(p)
        need -= (p != t[i - 1])
    return "".join(reversed(s))
"""

VARIANTS: list[Variant] = [
    Variant("broken", SYNTAX_ERROR, 0.0, "syntax_error"),
    Variant("broken", EXCEPTION, 0.0, "type_error"),
    Variant("broken", WRONG_TYPE, 0.0, "returns_list"),
    Variant("slow", SLOW, 0.0, "exhaustive_search"),
    Variant("poor", IDENTITY, 0.45, "identity"),
    Variant("medium", RANDOM_SEARCH, 0.7, "random_search"),
    Variant("good", HILL_CLIMB, 1.0, "hill_climb"),
    Variant("good", DYNAMIC_PROGRAMMING, 1.0, "dynamic_programming"),
]

SOLUTIONS.register("string_grid_distance")(VARIANTS)
