# expect: TMP006=0
from helpers import extract_code


def ask(model, text, n):
    return model.batch_prompt("You are an expert.", [text] * n, temperature=0.7)


def improve_algorithm(initial_solution, utility, language_model):
    n = min(language_model.max_responses_per_call, language_model.budget)
    texts = extract_code(ask(language_model, initial_solution, n))
    return max(texts, key=utility)
