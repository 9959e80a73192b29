import pytest

from fahras import InputError, load_vocabulary
from fahras.vocab import label_key, local_concept


def test_label_key_ignores_case_accents_and_spacing():
    assert label_key("CÔTE D'IVOIRE") == label_key("cote d’ivoire") == label_key("Cote  d'Ivoire ")
    assert label_key("КЫРГЫЗСТАН") == label_key("Кыргызстан")
    assert label_key("IRAQ") != label_key("IRAN")


def test_unbis_json_concepts_labels_groups(unbis):
    kg = unbis.find("KYRGYZSTAN")
    assert kg.uri == "http://metadata.un.org/thesaurus/1003543"
    assert kg.labels["ar"] == "قيرغيزستان" and kg.labels["zh"] == "吉尔吉斯斯坦"
    assert kg.label("ar") == "قيرغيزستان"
    assert "17.03.01" in kg.groups
    assert unbis.groups["17.03.01"]["en"] == "ASIA"
    assert all(unbis.get(uri) is not None for uri in kg.related)
    assert unbis.find("ARMED INCIDENTS").identifier == "1000383"
    assert unbis.find("consultations").labels["ar"] == "المشاورات"


def test_unbis_micro_thesauri_are_groups_not_concepts(unbis):
    assert len(unbis) == 7312 - 143
    assert unbis.by_identifier("170301") is None
    assert unbis.find("ASIA").identifier == "1000412"
    assert unbis.groups["17.03.01"]["fr"]  # group labels in the six languages


def test_find_by_label_in_other_languages_and_accents(unbis):
    assert unbis.find("cote d'ivoire").labels["en"] == "CÔTE D'IVOIRE"
    assert unbis.find("Кыргызстан").labels["en"] == "KYRGYZSTAN"
    assert unbis.find("http://metadata.un.org/thesaurus/1003543").labels["en"] == "KYRGYZSTAN"
    assert unbis.find("SUDAN--POLITICAL CONDITIONS") is None


def test_local_concept_is_stable():
    a, b = local_concept("CÔTE D'IVOIRE--POLITICAL CONDITIONS"), local_concept("cote d'ivoire--political conditions")
    assert a.uri == b.uri and a.local and a.uri.startswith("urn:fahras:local:")
    assert a.label("ar") == "CÔTE D'IVOIRE--POLITICAL CONDITIONS"


TURTLE = """@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ex: <http://example.org/t/> .
ex:scheme a skos:ConceptScheme ; skos:prefLabel "Test"@en .
ex:g1 a skos:Collection ; skos:prefLabel "PEACE"@en ; skos:member ex:1 , ex:2 .
ex:1 a skos:Concept ; skos:prefLabel "PEACEKEEPING OPERATIONS"@en , "عمليات حفظ السلام"@ar ,
    "OPERATIONS DE MAINTIEN DE LA PAIX"@fr ; skos:altLabel "PKO"@en ; skos:notation "1004"  ;
    skos:broader ex:2 ; skos:inScheme ex:scheme .
ex:2 a skos:Concept ; skos:prefLabel "PEACE"@en ; skos:narrower ex:1 ; skos:related ex:3 .
ex:3 a skos:Concept ; skos:prefLabel "SECURITY"@en .
"""


def test_skos_turtle(tmp_path):
    path = tmp_path / "t.ttl"
    path.write_text(TURTLE, encoding="utf-8")
    vocab = load_vocabulary(path)
    assert len(vocab) == 3
    pko = vocab.find("pko")
    assert pko.identifier == "1004" and pko.labels["ar"] == "عمليات حفظ السلام"
    assert pko.broader == ("http://example.org/t/2",)
    assert "http://example.org/t/g1" in pko.groups
    assert vocab.find("PEACE").related == ("http://example.org/t/3",)
    assert vocab.find("PEACE").narrower == ("http://example.org/t/1",)


def test_skos_rdfxml(tmp_path):
    import rdflib

    graph = rdflib.Graph().parse(data=TURTLE, format="turtle")
    path = tmp_path / "t.rdf"
    graph.serialize(str(path), format="xml")
    assert load_vocabulary(path).find("SECURITY").uri == "http://example.org/t/3"


def test_skos_errors(tmp_path):
    path = tmp_path / "bad.ttl"
    path.write_text("this is not turtle", encoding="utf-8")
    with pytest.raises(InputError, match="cannot parse SKOS"):
        load_vocabulary(path)
    empty = tmp_path / "empty.ttl"
    empty.write_text("@prefix ex: <http://e/> . ex:a ex:b ex:c .", encoding="utf-8")
    with pytest.raises(InputError, match="no skos:Concept"):
        load_vocabulary(empty)


def test_tabular_csv_and_tsv(tmp_path):
    csv_path = tmp_path / "v.csv"
    csv_path.write_text('uri,label_en,label_ar,label_fr\nhttp://x/1,"PEACE, SECURITY",سلام,PAIX\n\n'
                        "http://x/2,IRAQ,,IRAK\n", encoding="utf-8")
    vocab = load_vocabulary(csv_path)
    assert vocab.find("paix").labels == {"en": "PEACE, SECURITY", "ar": "سلام", "fr": "PAIX"}
    assert vocab.find("IRAK").uri == "http://x/2"
    tsv_path = tmp_path / "v.tsv"
    tsv_path.write_text("<http://x/1>\tPEACE\n<http://x/2>\tIRAQ\n", encoding="utf-8")
    assert load_vocabulary(tsv_path).find("iraq").uri == "http://x/2"


@pytest.mark.parametrize("name, content, words", [
    ("v.csv", "id,name\n1,x\n", '"uri" column'),
    ("v.csv", "uri,notes\nhttp://x/1,y\n", "label column"),
    ("v.csv", "uri,label_en\nhttp://x/1,\n", "no label"),
    ("v.json", "{broken", "invalid JSON"),
    ("v.json", '{"concepts": []}', '"topics"'),
    ("v.xlsx", "x", "unknown vocabulary format"),
])
def test_vocabulary_errors(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_vocabulary(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_missing_vocabulary(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_vocabulary(tmp_path / "nope.json")


def test_vocabulary_snapshot_round_trip(unbis):
    from fahras.vocab import Vocabulary

    copy = Vocabulary.from_dict(unbis.to_dict())
    assert len(copy) == len(unbis) and copy.groups == unbis.groups
    assert copy.find("KYRGYZSTAN") == unbis.find("KYRGYZSTAN")
