#!/usr/bin/env bash
# Headless Chromium for the indexers' page tests (tests/test_web_browser.py).
#
# Source it from .ci/run (bash):   source scripts/ci-browser.sh
# or run it directly:              bash scripts/ci-browser.sh
# Installs Debian's chromium package if /usr/bin/chromium is missing (as root,
# with apt-get), with fonts for Arabic and Chinese text, and exports
# FAHRAS_REQUIRE_BROWSER=1 so that the browser tests fail instead of skipping
# when the browser cannot be started.  Playwright (a Python package in the
# test extra) drives it through executable_path; `playwright install`, which
# downloads a browser build of its own, is never run.

fahras_browser_install() {
    local wanted=()
    [ -x /usr/bin/chromium ] || wanted+=(chromium)
    # glyphs for the six UN languages (Latin, Cyrillic and Arabic in Noto UI; Chinese in WenQuanYi)
    [ -d /usr/share/fonts/truetype/noto ] || wanted+=(fonts-noto-ui-core)
    [ -d /usr/share/fonts/truetype/wqy ] || wanted+=(fonts-wqy-microhei)
    if [ ${#wanted[@]} -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ci-browser: installing ${wanted[*]} (apt-get)" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}" >/dev/null \
            || { echo "ci-browser: apt-get install ${wanted[*]} failed" >&2; return 1; }
    else
        echo "ci-browser: ${wanted[*]} missing and cannot be installed here (need root + apt-get)" >&2
        return 1
    fi
}

fahras_browser_install || true
export FAHRAS_REQUIRE_BROWSER=1
