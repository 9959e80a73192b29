"""Fahras: automatic subject indexing of United Nations documents with UNBIS.

The library is usable without the command line::

    from fahras import Indexer, load_vocabulary, read_corpus

    vocab = load_vocabulary("all_topics.json")
    indexer = Indexer().fit(read_corpus("train/"), vocab)
    indexer.save("models/unsc")
    for s in Indexer.load("models/unsc").suggest("text of a resolution"):
        print(s.uri, s.label, s.score)
"""

from fahras.errors import FahrasError, InputError
from fahras.corpus import Document, read_corpus
from fahras.vocab import Concept, Vocabulary, load_vocabulary
from fahras.indexer import Indexer, Suggestion
from fahras._version import __version__

__all__ = [
    "Concept",
    "Document",
    "FahrasError",
    "Indexer",
    "InputError",
    "Suggestion",
    "Vocabulary",
    "load_vocabulary",
    "read_corpus",
    "__version__",
]
