#!/usr/bin/env bash
# The main job, end to end on the shared data: set up, train on the 2005-2011
# Security Council resolutions, evaluate on 2012-2013, suggest for new documents.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# A time split as folders of links (the shared data stays read-only).
rm -rf out/split && mkdir -p out/split/train out/split/test
for f in "$DATA"/unsc-resolutions/train/*.txt; do
    year=$(basename "$f" | sed -E 's/.*_([0-9]{4})_\.txt$/\1/')
    if [ "$year" -le 2011 ]; then dest=train; else dest=test; fi
    ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "out/split/$dest/"
done

fahras train --vocab "$DATA/unbis/all_topics.json" --out models/unsc out/split/train
fahras eval models/unsc out/split/test
first=$(ls out/split/test | head -n 1)
echo "== suggestions for $first (labels in French)"
fahras suggest models/unsc "out/split/test/$first" --limit 5 --label-lang fr
fahras index models/unsc out/split/test --out out/suggestions --force --quiet
fahras vocab show "$DATA/unbis/all_topics.json" KYRGYZSTAN --lang ar

# Zero-shot: a model from the thesaurus alone, on the Arabic example (labels in Arabic).
fahras train --vocab "$DATA/unbis/all_topics.json" --out models/unbis-zeroshot --quiet
fahras suggest models/unbis-zeroshot "$DATA/examples/000_5a894c35c2768328.txt" --limit 10 --label-lang ar
