"""Accents and stemming (issue #16): fold before stemming, stem then fold, or both forms?

On simplemma's French and Spanish word -> lemma dictionaries (installed with
Fahras), for the words written with accents: how often the word's term meets
the term of its unaccented spelling (how UNBIS writes fr/es labels), and how
often two forms of one lemma share a term (conflation), under each scheme.
Run: ``python -m benchmarks.text_accents`` (about a minute).  Results are in
docs/design.md, "Accents, names and languages (text16)".
"""
from collections import defaultdict
from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory
import Stemmer
from fahras.text.normalize import fold
f = DefaultDictionaryFactory()
for lang, alg in (("fr", "french"), ("es", "spanish")):
    d = f.get_dictionary(lang)
    st = Stemmer.Stemmer(alg)
    words = [w for w in d if w.isalpha() and w.islower() and len(w) > 3]
    acc = [w for w in words if fold(w, lang) != w]
    # 1. an accented word against its unaccented spelling (how UNBIS writes labels)
    old_meet = sum(fold(st.stemWord(w), lang) == st.stemWord(fold(w, lang)) for w in acc) / len(acc)
    # 2. conflation of the forms of one lemma (accented words as written)
    fam = defaultdict(set)
    for w in words:
        fam[d[w]].add(w)
    pairs = same_old = same_new = same_both = 0
    for lemma, forms in fam.items():
        forms = sorted(forms)[:12]
        if len(forms) < 2:
            continue
        o = {w: fold(st.stemWord(w), lang) for w in forms}
        n = {w: st.stemWord(fold(w, lang)) for w in forms}
        for i, a in enumerate(forms):
            for b in forms[i + 1:]:
                pairs += 1
                same_old += o[a] == o[b]
                same_new += n[a] == n[b]
                same_both += bool({o[a], n[a]} & {o[b], n[b]})
    # 3. merging of different lemmas: distinct terms over all words
    terms_old = len({fold(st.stemWord(w), lang) for w in words})
    terms_new = len({st.stemWord(fold(w, lang)) for w in words})
    print(f"{lang}: {len(words)} words, {len(acc)} with accents; stem-then-fold meets the unaccented "
          f"spelling for {old_meet:.1%} of them (fold-first: 100%); forms of one lemma sharing a term: "
          f"stem-then-fold {same_old/pairs:.1%}, fold-first {same_new/pairs:.1%}, both forms {same_both/pairs:.1%} "
          f"({pairs} pairs); distinct terms {terms_old} vs {terms_new}")
