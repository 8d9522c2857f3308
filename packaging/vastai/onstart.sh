#!/usr/bin/env bash
# Vast.ai "on-start script" for a PyTorch/CUDA template (any image with Python 3.10-3.12 and git).
# Runs Redis (embedded), the API on port 8000 and one GPU worker in one instance, as the contract describes.
# Set in the instance's environment: HF_TOKEN (diarization), optionally WHISPER_MODEL_SIZE (default large-v3),
# STT_REPO (where to clone from) and STT_WORKERS.
set -euo pipefail
cd /workspace
if [ ! -d stt-studio ]; then
    git clone "${STT_REPO:?set STT_REPO to this repository's clone URL}" stt-studio
fi
cd stt-studio
export STT_DATA_DIR=/workspace/stt-data STT_MODELS_DIR=/workspace/stt-models WHISPER_DEVICE=cuda
scripts/setup.sh
nohup .venv/bin/stt-studio serve --host 0.0.0.0 --port 8000 --workers "${STT_WORKERS:-1}" \
    >> /workspace/stt-serve.log 2>&1 &
echo "STT Studio starting; log: /workspace/stt-serve.log; API on port 8000 (map it in the instance's ports)"
