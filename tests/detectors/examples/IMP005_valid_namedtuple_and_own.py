# expect: IMP005=0
import collections

Scored = collections.namedtuple("Scored", "program score")


class Pool:
    def __init__(self):
        self._items = []

    def add(self, item):
        self._items.append(item._replace(score=round(item.score, 3)))
        return item._asdict()


def improve_algorithm(initial_solution, utility, language_model):
    pool = Pool()
    pool.add(Scored(initial_solution, utility(initial_solution)))
    return initial_solution
