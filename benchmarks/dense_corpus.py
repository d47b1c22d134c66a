"""A large generated corpus dense with findings, for the speed benchmark (scan_bench.py).

``dense(seed, files, mb, planted)``: the labelled accuracy corpus (accuracy_corpus.generate)
at the size that carries about `planted` planted secrets and internal references, then
clean source files (the generator's filler blocks, each file unique) until the corpus has
`files` files and about `mb` megabytes. The defaults (4,000 files, 16 MB, 2,300 planted) are
the issue's: a real-sized repository where about one file in two carries a finding.
"""

from __future__ import annotations

import random

from benchmarks.accuracy_corpus import CLOSE, FILLER, OPEN, WORDS, Corpus, generate

PAD_LANGS = {
    "py": (".py", "#"),
    "js": (".js", "//"),
    "ts": (".ts", "//"),
    "go": (".go", "//"),
    "java": (".java", "//"),
    "yaml": (".yaml", "#"),
    "sh": (".sh", "#"),
    "md": (".md", ""),
}


def planted_count(corpus: Corpus) -> int:
    return len(corpus.secrets) + len(corpus.internal)


def labelled_part(seed: int, planted: int) -> Corpus:
    """generate(seed, n) with n chosen so the corpus carries about `planted` planted lines."""
    n = max(10, round(planted / 1.3))
    corpus = generate(seed, n)
    for _ in range(3):
        got = planted_count(corpus)
        if abs(got - planted) <= planted * 0.02:
            break
        n = max(10, round(n * planted / got))
        corpus = generate(seed, n)
    return corpus


def pad_file(rng: random.Random, index: int, lang: str, size: int) -> str:
    ext, comment = PAD_LANGS[lang]
    lines = list(OPEN.get(lang, lambda r: [])(rng))
    marker = f"module {index}: {rng.choice(WORDS)} helpers"
    lines.insert(1 if lines[:1] and lines[0].startswith("#!") else 0,
                 f"{comment} {marker}".strip())  # fmt: skip
    pool = FILLER[lang]
    body = sum(len(x) + 1 for x in lines)
    while body < size:
        block = rng.choice(pool)
        lines.extend([block, ""])
        body += len(block) + 2
    lines.extend(CLOSE.get(lang, []))
    return "\n".join(lines) + "\n"


def dense(seed: int = 1, files: int = 4000, mb: float = 16.0, planted: int = 2300) -> Corpus:
    corpus = labelled_part(seed, planted)
    rng = random.Random(seed * 7919 + 17)  # noqa: S311 - a reproducible corpus
    have = sum(len(t.encode()) for t in corpus.files.values())
    n_pad = max(0, files - len(corpus.files))
    mean = max(200, (mb * 1e6 - have) / n_pad) if n_pad else 0
    langs = list(PAD_LANGS)
    for i in range(n_pad):
        lang = langs[i % len(langs)]
        ext = PAD_LANGS[lang][0]
        root = rng.choice(["lib", "src", "pkg", "internal", "modules", "docs"])
        path = f"{root}/{rng.choice(WORDS)}/{rng.choice(WORDS)}_{i}{ext}"
        if lang == "java":
            path = f"src/main/java/org/openfern/{rng.choice(WORDS)}/Module{i}.java"
        assert path not in corpus.files, path
        corpus.files[path] = pad_file(rng, i, lang, int(mean * rng.uniform(0.5, 1.5)))
        corpus.category[path] = "padding"
    return corpus
