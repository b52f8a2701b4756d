#!/usr/bin/env bash
# Rewrites PublicAPI.Unshipped.txt of every packable project under src/ from its code, for
# Microsoft.CodeAnalysis.PublicApiAnalyzers (README "Packages"): run it after a change of the public API (or after a
# merge that brought one), review the diff, commit it.
#
#   eng/update-public-api.sh            every src/*/*.csproj
#   eng/update-public-api.sh PROJECT…   only these projects
#
# How: each project's Unshipped file is reset to "#nullable enable" (a Shipped file is created empty if missing), then
# `dotnet format analyzers` applies the analyzers' own code fixes: RS0016 adds every public symbol the Shipped file does
# not hold, RS0017 marks a shipped symbol that is gone as *REMOVED*. The files are then sorted, as the code fix leaves
# them. Shipping a version = moving the Unshipped lines into PublicAPI.Shipped.txt (by hand, at release time).
# Needs the .NET SDK and the packages restorable (it restores).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [ "$#" -gt 0 ]; then
  projects=("$@")
else
  mapfile -t projects < <(ls src/*/*.csproj)
fi

for project in "${projects[@]}"; do
  dir="$(dirname "$project")"
  [ -f "$dir/PublicAPI.Shipped.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.Shipped.txt"
  printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
done

for project in "${projects[@]}"; do
  dir="$(dirname "$project")"
  echo "public API of $project" >&2
  # Two passes: a fix can expose another symbol of the same declaration only once the first is in the file.
  for pass in 1 2; do
    dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity info --no-restore 2>/dev/null \
      || dotnet format analyzers "$project" --diagnostics RS0016 RS0017 --severity info
  done
  for file in "$dir/PublicAPI.Unshipped.txt" "$dir/PublicAPI.Shipped.txt"; do
    body="$(grep -v '^#nullable enable$' "$file" | grep -v '^$' | LC_ALL=C sort -u || true)"
    { printf '#nullable enable\n'; [ -z "$body" ] || printf '%s\n' "$body"; } > "$file"
  done
done

# The build is the check: RS0016/RS0017 are errors there (warnings as errors).
for project in "${projects[@]}"; do
  dotnet build "$project" -nologo -v:q
done
