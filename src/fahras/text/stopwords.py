"""Short stop-word lists: the common function words of each language.

All lists are this project's own, deliberately short: articles,
prepositions, conjunctions, pronouns, auxiliaries and particles, nothing that
could name a subject.  Words are stored in the form the analyzer compares them
in: lower case, NFC; Russian with ``ё`` folded to ``е``; Arabic normalised with
:func:`fahras.text.normalize.normalize_arabic` but keeping ``ة``.
"""

from __future__ import annotations

from functools import lru_cache

_FRENCH = """
le la les l un une des du de d au aux et ou où à en dans par pour sur avec sans sous
entre contre vers chez ce cet cette ces c ça qui que qu quoi dont il ils elle elles on nous
vous je j me m te t se s lui leur leurs eux son sa ses mon ma mes ton ta tes notre nos
votre vos ne n pas ni mais donc car si y est sont été être avoir ont avait était sera
seront comme aussi tout tous toute toutes même mêmes cela celui celle ceux celles lors
afin ainsi auprès selon
"""

_SPANISH = """
el la los las lo un una unos unas y e o u a ante bajo con contra de del desde en entre
hacia hasta para por según sin sobre tras al que quien quienes cual cuales cuyo cuya
cuyos cuyas como cuando donde se su sus le les me te nos os mi mis tu tus este esta
estos estas ese esa esos esas aquel aquella aquellos aquellas es son fue fueron ser ha
han haber había sido está están estar muy más ya no ni pero sino también otro otra
otros otras todo toda todos todas mismo misma mismos mismas así si sí porque pues
"""

_RUSSIAN = """
и в во не ни на с со к ко у о об обо от до по за из изо для без под над при про через
между перед после а но или либо что чтобы как так также же ли бы это этот эта эти
этого этой этом этих тот та те того том тех он она оно они его ее их им ими него нее
них ним мы вы я себя свой своей своих свои своего своим который которая которое
которые которого которой которых которым быть был была было были будет будут
является являются уже еще все всех весь вся всего
"""

_ARABIC = """
من في على الى عن مع حتى منذ خلال بين عند لدى نحو ضد دون حول عبر قبل بعد فوق تحت امام
ان انه انها لان كان كانت يكون تكون قد لقد لا لم لن ما ماذا هل او ام ثم بل لكن ولكن كما
كل بعض اي اذا اذ الا غير ايضا هو هي هم هما هن نحن انا انت انتم هذا هذه هذان هاتان
هؤلاء ذلك تلك اولئك الذي التي الذين اللذين اللتين اللاتي هنا هناك حيث كيف متى اين لماذا
به بها له لها لهم فيه فيها فيهم منه منها منهم عليه عليها عليهم اليه اليها عنه عنها
وفي ومن وعلى والى وهو وهي وقد وان وكان ولا ولم وما وهذا وهذه وذلك
"""

_CHINESE = """
的 了 和 与 及 以及 或 或者 在 是 对 对于 为 为了 将 等 并 并且 其 之 于 以 从 由 被 把
也 都 而 而且 但 但是 这 那 这些 那些 该 此 各 就 又 所 其中 我们 他们 它们 他 她 它 我
你 您 有 没有 不 很 还 已 已经 着 过 吗 呢 吧 啊 会 可 可以 能 要 个 一个 通过 进行 关于
根据 按照
"""

_ENGLISH = """
a an the this that these those some any each every either neither no nor not only own same such
and or but if then else than so as because while whereas although though unless until since
of to in on at by for with without within into onto from up down out over under above below
about against among amongst between through throughout during before after upon via per
again further once here there when where why how all both few more most other very too
i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves
what which who whom whose whatever whichever whoever
am is are was were be been being have has had having do does did doing done
can could may might must shall should will would ought
also just yet still even ever never always often however therefore thus hence
its it's
"""

_LISTS = {"en": _ENGLISH, "fr": _FRENCH, "es": _SPANISH, "ru": _RUSSIAN, "ar": _ARABIC, "zh": _CHINESE}


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset[str]:
    """The stop words of ``lang`` (``ar zh en fr ru es``); empty for other codes."""
    if lang == "ar":
        from fahras.text.normalize import normalize_arabic
        return frozenset(normalize_arabic(w, teh_marbuta=False) for w in _ARABIC.split())
    return frozenset(_LISTS.get(lang, "").split())
