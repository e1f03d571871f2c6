"""Organisation extraction against the hand-made gold file, and extraction speed.

Usage: .venv/bin/python benchmarks/bench_extract.py [--errors]

Gold: benchmarks/gold/organisations.json (organisations named in documents of
../shared/corpus, read by eye). A predicted organisation in a document is correct when one of
its surface forms in that document, or its label, equals (case- and 'the'-insensitively) a
surface form or the name of a gold organisation of that document. Precision and recall are
over (document, organisation) pairs; "government bodies" restricts both sides to government
bodies (a predicted government body must match a gold government body).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))


def norm(text: str) -> str:
    from kg.resolve import normalize_org_name

    return normalize_org_name(text)


def predictions(paths: list[Path], jobs: int = 1):
    from kg.pipeline import collect_documents, discover_inputs, read_inputs
    from kg.extract.mentions import extract_mentions, table_terms, text_units
    from kg.extract.nlp import make_pipeline
    from kg.gazetteer import DEFAULT_GAZETTEERS, load_gazetteer
    from kg.rdf.build import assign_record_iris, distinct_records
    from kg.resolve import resolve_entities
    from kg.types import EntityKind

    docs, records, _ = collect_documents(read_inputs(discover_inputs(paths)))
    rows = distinct_records(records)
    iris = assign_record_iris(rows)
    gazetteer = load_gazetteer(DEFAULT_GAZETTEERS)
    nlp = make_pipeline(gazetteer, table_terms(rows))
    units = text_units(docs, rows, iris)
    words = sum(len(u.text.split()) for u in units)
    start = time.perf_counter()
    mentions = extract_mentions(units, nlp, jobs=jobs)
    seconds = time.perf_counter() - start
    resolution = resolve_entities(mentions, gazetteer)
    found: dict[str, dict[str, tuple[bool, set[str]]]] = defaultdict(dict)
    for mention, iri in zip(resolution.mentions, resolution.targets):
        entity = resolution.entity(iri)
        if entity.kind not in (EntityKind.ORGANIZATION, EntityKind.GOVERNMENT_BODY):
            continue
        gov = entity.kind is EntityKind.GOVERNMENT_BODY
        _, forms = found[mention.doc_id].setdefault(iri, (gov, {norm(entity.label)}))
        forms.add(norm(mention.surface))
    return found, words, seconds


def score(found, gold_docs, government_only: bool, show: bool) -> tuple[float, float, int, int]:
    tp_pred = n_pred = tp_gold = n_gold = 0
    for doc in gold_docs:
        gold = [o for o in doc["organisations"] if o["government"] or not government_only]
        gold_forms = [({norm(o["name"])} | {norm(s) for s in o["surface"]}, o) for o in gold]
        predicted = {iri: v for iri, v in found.get(doc["doc_id"], {}).items() if v[0] or not government_only}
        hit_gold = set()
        for iri, (gov, forms) in sorted(predicted.items()):
            n_pred += 1
            match = [i for i, (g, _) in enumerate(gold_forms) if g & forms]
            if match:
                tp_pred += 1
                hit_gold.update(match)
            elif show:
                print(f"  FP {doc['doc_id'][:8]} {sorted(forms)}")
        n_gold += len(gold)
        tp_gold += len(hit_gold)
        if show:
            for i, (_, o) in enumerate(gold_forms):
                if i not in hit_gold:
                    print(f"  FN {doc['doc_id'][:8]} {o['name']} {o['surface']}")
    precision = tp_pred / n_pred if n_pred else 1.0
    recall = tp_gold / n_gold if n_gold else 1.0
    return precision, recall, n_pred, n_gold


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--errors", action="store_true", help="list false positives and negatives")
    args = parser.parse_args()
    if not (SHARED / "corpus").is_dir():
        sys.exit(f"{SHARED} is absent")
    gold = json.loads((ROOT / "benchmarks" / "gold" / "organisations.json").read_text())["documents"]
    found, words, seconds = predictions([SHARED / "corpus"])
    for name, government_only in (("organisations", False), ("government bodies", True)):
        p, r, n_pred, n_gold = score(found, gold, government_only, args.errors and not government_only)
        print(f"{name:18} precision {p:.3f}  recall {r:.3f}  (predicted {n_pred}, gold {n_gold}, {len(gold)} documents)")
    print(f"extraction, 1 process: {words / seconds:,.0f} words/s ({words:,} words in {seconds:.2f} s)")
    _, words2, seconds2 = predictions([SHARED / "corpus"], jobs=2)
    print(f"extraction, --jobs 2:  {words2 / seconds2:,.0f} words/s ({words2:,} words in {seconds2:.2f} s)")


if __name__ == "__main__":
    main()
