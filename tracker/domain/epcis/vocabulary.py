"""The Core Business Vocabulary (CBV) words EPCIS fields use, in their three spellings.

GS1's own JSON-LD context lists the standard words, so the lists cannot drift from what
EPCIS 2.0 documents may use. ``normalise_cbv`` turns a bare word, a
``urn:epcglobal:cbv:...`` URN or a ``https://ref.gs1.org/cbv/...`` Web URI into the bare
word; the CBV 2.0 hash wants the Web URI instead (``with_vocabulary_iris``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any


def load_data(name: str) -> Any:
    """A JSON file of GS1's bundled with the package (context, schema)."""
    return json.loads((files("tracker.data") / "epcis" / name).read_text(encoding="utf-8"))


CBV_WEB = "https://ref.gs1.org/cbv/"
# CBV 2.0 hashes sensor measurement types and alert types as https://ref.gs1.org/voc/...,
# whatever the gs1: prefix of the 2.0.0 JSON-LD context says (the reference
# implementation's published vectors depend on it).
GS1_VOC = "https://ref.gs1.org/voc/"


@dataclass(frozen=True)
class _Vocabulary:
    label: str  # for error messages: "business step"
    urn: str  # urn:epcglobal:cbv:bizstep:
    web: str  # https://ref.gs1.org/cbv/BizStep-
    terms: frozenset[str]


def _context_terms(term_context: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(k for k in term_context if not k.startswith("@"))


def _load_vocabularies() -> dict[str, _Vocabulary]:
    # The standard words come from GS1's own JSON-LD context, so the lists cannot drift
    # from what EPCIS 2.0 documents may use.
    context = load_data("epcis-context.jsonld")["@context"]
    type_context = context["bizTransactionList"]["@context"]["type"]["@context"]
    sdt_context = context["sourceList"]["@context"]["type"]["@context"]
    reason_context = context["errorDeclaration"]["@context"]["reason"]["@context"]
    return {
        "bizStep": _Vocabulary(
            "business step", "urn:epcglobal:cbv:bizstep:", CBV_WEB + "BizStep-",
            _context_terms(context["bizStep"]["@context"])),
        "disposition": _Vocabulary(
            "disposition", "urn:epcglobal:cbv:disp:", CBV_WEB + "Disp-",
            _context_terms(context["disposition"]["@context"])),
        "sdt": _Vocabulary(
            "source/destination type", "urn:epcglobal:cbv:sdt:", CBV_WEB + "SDT-",
            _context_terms(sdt_context)),
        "btt": _Vocabulary(
            "business transaction type", "urn:epcglobal:cbv:btt:", CBV_WEB + "BTT-",
            _context_terms(type_context)),
        "er": _Vocabulary(
            "error reason", "urn:epcglobal:cbv:er:", CBV_WEB + "ER-",
            _context_terms(reason_context)),
    }


VOCABULARIES = _load_vocabularies()
CBV_VOCABULARIES = tuple(VOCABULARIES)
_VOCABULARY_ALIASES = {
    "bizstep": "bizStep",
    "disp": "disposition",
    "sourceOrDestinationType": "sdt",
    "bizTransactionType": "btt",
    "errorReason": "er",
    "reason": "er",
}


def _sensor_terms() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    report = load_data("epcis-context.jsonld")["@context"]["sensorElementList"]["@context"][
        "sensorReport"]["@context"]
    return (_context_terms(report["type"]["@context"]),
            _context_terms(report["exception"]["@context"]),
            _context_terms(report["component"]["@context"]))


MEASUREMENT_TYPES, SENSOR_ALERTS, COMPONENTS = _sensor_terms()


def normalise_cbv(value: str, vocabulary: str) -> str:
    """The bare CBV word for ``value``, or ``value`` unchanged when it is not a CBV word.

    ``vocabulary`` is ``bizStep``, ``disposition``, ``sdt`` (source/destination type),
    ``btt`` (business transaction type) or ``er`` (error reason). The bare word, the URN,
    the Web URI and the ``cbv:`` compact URI of a standard word all give the bare word;
    anything else, a user's own URI included, comes back as it was. Only standard words
    are rewritten, so the CBV 2.0 hash of an event is the same before and after.

    >>> normalise_cbv("shipping", "bizStep")
    'shipping'
    >>> normalise_cbv("urn:epcglobal:cbv:sdt:owning_party", "sdt")
    'owning_party'
    >>> normalise_cbv("https://ref.gs1.org/cbv/BTT-po", "btt")
    'po'
    >>> normalise_cbv("https://example.com/bizstep/gluing", "bizStep")
    'https://example.com/bizstep/gluing'
    """
    vocab = VOCABULARIES.get(_VOCABULARY_ALIASES.get(vocabulary, vocabulary))
    if vocab is None:
        raise ValueError(f"unknown CBV vocabulary {vocabulary!r}; one of {CBV_VOCABULARIES}")
    if value in vocab.terms:
        return value
    for prefix in (vocab.urn, vocab.web, "cbv:" + vocab.web[len(CBV_WEB):]):
        if value.startswith(prefix) and value[len(prefix):] in vocab.terms:
            return value[len(prefix):]
    return value


def _bare(value: Any, vocabulary: str) -> Any:
    return normalise_cbv(value, vocabulary) if isinstance(value, str) else value


def with_bare_words(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with standard CBV values as bare words; the rest is shared."""
    out = dict(event)
    for key, vocab in (("bizStep", "bizStep"), ("disposition", "disposition")):
        if key in out:
            out[key] = _bare(out[key], vocab)
    pd = out.get("persistentDisposition")
    if isinstance(pd, Mapping):
        out["persistentDisposition"] = {
            k: [_bare(v, "disposition") for v in vs] if k in ("set", "unset")
            and isinstance(vs, list) else vs
            for k, vs in pd.items()}
    for key, vocab in (("bizTransactionList", "btt"), ("sourceList", "sdt"),
                       ("destinationList", "sdt")):
        entries = out.get(key)
        if isinstance(entries, list):
            out[key] = [dict(e, type=_bare(e["type"], vocab))
                        if isinstance(e, Mapping) and "type" in e else e for e in entries]
    declaration = out.get("errorDeclaration")
    if isinstance(declaration, Mapping) and "reason" in declaration:
        out["errorDeclaration"] = dict(declaration, reason=_bare(declaration["reason"], "er"))
    return out


def with_vocabulary_iris(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with bare standard vocabulary words as Web URIs (CBV 2.0 rule 16).

    The JSON-LD context types these fields as vocabulary terms; only its words expand.
    """
    out = dict(event)

    def iri(value: Any, vocab: str) -> Any:
        v = VOCABULARIES[vocab]
        return v.web + value if isinstance(value, str) and value in v.terms else value

    for key, vocab in (("bizStep", "bizStep"), ("disposition", "disposition")):
        if key in out:
            out[key] = iri(out[key], vocab)
    pd = out.get("persistentDisposition")
    if isinstance(pd, Mapping):
        out["persistentDisposition"] = {
            k: [iri(v, "disposition") for v in vs] if isinstance(vs, list) and k in (
                "set", "unset") else vs for k, vs in pd.items()}
    for key, vocab in (("bizTransactionList", "btt"), ("sourceList", "sdt"),
                       ("destinationList", "sdt")):
        if isinstance(out.get(key), list):
            out[key] = [dict(e, type=iri(e["type"], vocab))
                        if isinstance(e, Mapping) and "type" in e else e for e in out[key]]
    if isinstance(out.get("sensorElementList"), list):
        out["sensorElementList"] = [_sensor_element_iris(e) for e in out["sensorElementList"]]
    return out


def _sensor_element_iris(element: Any) -> Any:
    if not isinstance(element, Mapping) or not isinstance(element.get("sensorReport"), list):
        return element
    reports = []
    for report in element["sensorReport"]:
        if isinstance(report, Mapping):
            report = dict(report)
            for key, words, base in (("type", MEASUREMENT_TYPES, GS1_VOC),
                                     ("exception", SENSOR_ALERTS, GS1_VOC),
                                     ("component", COMPONENTS, CBV_WEB + "Comp-")):
                if isinstance(report.get(key), str) and report[key] in words:
                    report[key] = base + report[key]
        reports.append(report)
    return dict(element, sensorReport=reports)
