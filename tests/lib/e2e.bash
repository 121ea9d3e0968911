# Entry point for the end-to-end tests: `load ../lib/e2e` in a tests/e2e/*.bats file.
_md_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$_md_lib_dir/common.bash"
source "$_md_lib_dir/registry.bash"
source "$_md_lib_dir/fixtures.bash"
source "$_md_lib_dir/mydock.bash"
