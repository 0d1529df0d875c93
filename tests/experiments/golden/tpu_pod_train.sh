#!/usr/bin/env bash
# Cloud TPU VM pod run on spectrum-v5e-32 (us-west4-a). Run from the repository root.
set -euo pipefail
git archive --format=tar.gz -o /tmp/specsense_jax.tar.gz HEAD
gcloud compute tpus tpu-vm scp --zone=us-west4-a --project=my-project --worker=all /tmp/specsense_jax.tar.gz spectrum-v5e-32:specsense_jax.tar.gz
gcloud compute tpus tpu-vm ssh spectrum-v5e-32 --zone=us-west4-a --project=my-project --worker=all '--command=mkdir -p ~/specsense_jax && tar -xzf ~/specsense_jax.tar.gz -C ~/specsense_jax && cd ~/specsense_jax && python3 -m pip install -q -e ".[tpu]"'
gcloud compute tpus tpu-vm ssh spectrum-v5e-32 --zone=us-west4-a --project=my-project --worker=all '--command=cd ~/specsense_jax && PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 TFDS_DATA_DIR=gs://my-bucket/tensorflow_datasets python3 -m launch.train --config=configs/deeplabv3plus.py:encoder=resnet50,size=256 --workdir=/mnt/runs/r50 --distributed'
