#!/usr/bin/env bash
# Prints the Debian changelog of the package being built, generated from CHANGELOG.md,
# so the two are written once and never disagree.
#
# Usage: packaging/debian-changelog.sh VERSION [CHANGELOG.md]
#
# Each "## [X.Y.Z] - YYYY-MM-DD" section becomes the entry "tete (X.Y.Z-1)", newest
# first, each item a "*" line (prefixed with its "### Added/Changed/..." heading).
# The items under "## [Unreleased]" are what this build contains beyond the last
# release, so they go into the entry of VERSION (Cargo.toml's): at its top when
# CHANGELOG.md already has a section for VERSION, else into a new entry for it,
# dated by the last commit ($SOURCE_DATE_EPOCH wins; the build stays reproducible).
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:?usage: debian-changelog.sh VERSION [CHANGELOG.md]}"
changelog="${2:-CHANGELOG.md}"
maintainer="$(sed -n 's/^maintainer = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
if [ -z "$maintainer" ]; then
    echo "debian-changelog: no maintainer in Cargo.toml [package.metadata.deb]" >&2
    exit 1
fi
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    build_date="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
elif build_date="$(git log -1 --format=%cD 2>/dev/null)" && [ -n "$build_date" ]; then
    :
else
    build_date="$(date -u -R)"
fi

# awk turns the Markdown into entries with a date marker line ("@date YYYY-MM-DD" or
# "@date build"); the loop below turns markers into RFC 2822 dates (mawk has no
# strftime). Items are wrapped at 79 columns, continuation lines indented by 4.
awk -v version="$version" -v maintainer="$maintainer" '
function flush_item() {
    if (item == "") return
    text = (heading != "" ? heading ": " : "") item
    line = "  *"
    n = split(text, words, " ")
    for (i = 1; i <= n; i++) {
        if (length(line) + 1 + length(words[i]) > 79 && line != "  *" && line != "   ") {
            body[current] = body[current] line "\n"
            line = "   "
        }
        line = line " " words[i]
    }
    body[current] = body[current] line "\n"
    item = ""
}
/^## \[/ {
    flush_item()
    name = $2; gsub(/[\[\]]/, "", name)
    heading = ""
    if (name == "Unreleased") { current = "Unreleased"; next }
    current = name
    order[++count] = name
    date[name] = $4
    next
}
/^### / { flush_item(); heading = substr($0, 5); next }
/^- / { flush_item(); if (current != "") item = substr($0, 3); next }
/^  +[^ ]/ { if (item != "") { sub(/^ +/, ""); item = item " " $0 }; next }
/^$/ { flush_item(); next }
END {
    flush_item()
    has_version = 0
    for (i = 1; i <= count; i++) if (order[i] == version) has_version = 1
    if (!has_version) {
        if (body["Unreleased"] == "") { print "debian-changelog: no section for " version " and nothing unreleased" > "/dev/stderr"; exit 1 }
        printf "tete (%s-1) unstable; urgency=medium\n\n%s\n -- %s  @date build\n", version, body["Unreleased"], maintainer
        if (count > 0) printf "\n"
    }
    for (i = 1; i <= count; i++) {
        name = order[i]
        text = body[name]
        when = date[name]
        if (name == version && body["Unreleased"] != "") { text = body["Unreleased"] text; when = "build" }
        printf "tete (%s-1) unstable; urgency=medium\n\n%s\n -- %s  @date %s\n", name, text, maintainer, when
        if (i < count) printf "\n"
    }
}
' "$changelog" | while IFS= read -r line; do
    case "$line" in
        *"  @date build") printf '%s  %s\n' "${line%  @date build}" "$build_date" ;;
        *"  @date "*)
            day="${line##*@date }"
            printf '%s  %s\n' "${line%  @date *}" "$(date -u -R -d "$day")"
            ;;
        *) printf '%s\n' "$line" ;;
    esac
done
