#!/bin/sh
# Re-extract the English msgids into locales/chatshop.pot and merge them into the French
# catalogue; then translate every new or fuzzy entry in locales/fr/LC_MESSAGES/chatshop.po.
# tests/test_i18n.py fails while the .pot is stale or a translation is missing.
set -eu
cd "$(dirname "$0")/.."
pybabel extract --no-location --sort-output --omit-header -F locales/babel.cfg \
    -k _ -k N_ -k ngettext:1,2 -o locales/chatshop.pot chatshop
pybabel update --no-fuzzy-matching --ignore-obsolete \
    -i locales/chatshop.pot -d locales -D chatshop -l fr
