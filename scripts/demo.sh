#!/usr/bin/env bash
# The main job, end to end on the shared data: set up, train on the 2005-2010
# Security Council resolutions, evaluate on 2012-2013, re-tune on 2011, suggest
# for new documents, index a folder.
#
# It leaves the folders the README's worked example uses:
#   work/split/train       2005-2010 resolutions (links into the shared data)
#   work/split/validation  2011
#   work/split/held-out    2012-2013
#   work/incoming          the held-out resolutions as new documents: plain text,
#                          without the export header that holds their descriptors
#
#   bash scripts/demo.sh            # all of it (a few minutes)
#   bash scripts/demo.sh --folders  # set up and make the folders only (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
if [ ! -d "$DATA/unsc-resolutions/train" ]; then
    echo "demo.sh: shared data not found at $DATA (set DATA=...)" >&2
    exit 66
fi
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# A time split as folders of links (the shared data stays read-only).
rm -rf work/split work/incoming
mkdir -p work/split/train work/split/validation work/split/held-out work/incoming
data_dir=$(cd "$DATA/unsc-resolutions/train" && pwd)
for f in "$data_dir"/*.txt; do
    name=$(basename "$f")
    year=$(echo "$name" | sed -E 's/.*_([0-9]{4})_\.txt$/\1/')
    if [ "$year" -le 2010 ]; then dest=train; elif [ "$year" -eq 2011 ]; then dest=validation; else dest=held-out; fi
    ln -s "$f" "work/split/$dest/$name"
    if [ "$dest" = held-out ]; then
        tail -n +3 "$f" > "work/incoming/$name"  # the text alone: lines 1-2 are the descriptors and a blank line
    fi
done
echo "work/split: $(ls work/split/train | wc -l) train, $(ls work/split/validation | wc -l) validation," \
     "$(ls work/split/held-out | wc -l) held-out documents; work/incoming: $(ls work/incoming | wc -l) new documents"
if [ "${1:-}" = "--folders" ]; then
    exit 0
fi

fahras train --vocab "$DATA/unbis/all_topics.json" --out models/unsc work/split/train
fahras eval models/unsc work/split/held-out
fahras optimize models/unsc work/split/validation --dry-run
echo "== suggestions for S_RES_2063_2012_ (labels in French)"
fahras suggest models/unsc work/incoming/S_RES_2063_2012_.txt --limit 5 --label-lang fr
fahras index models/unsc work/incoming --out work/suggestions --force --quiet
fahras vocab show "$DATA/unbis/all_topics.json" KYRGYZSTAN --lang ar
fahras vocab search consult --vocab "$DATA/unbis/all_topics.json" --limit 5
fahras info models/unsc

# Zero-shot: a model from the thesaurus alone, on the Arabic example (labels in Arabic).
fahras train --vocab "$DATA/unbis/all_topics.json" --out models/unbis-zeroshot --quiet
fahras suggest models/unbis-zeroshot "$DATA/examples/000_5a894c35c2768328.txt" --limit 10 --label-lang ar
