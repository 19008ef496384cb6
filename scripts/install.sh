#!/bin/sh
# install.sh: install codestream-bastion from this offline bundle, with no network at all.
#
#   sudo ./install.sh [--python PATH] [--prefix DIR]
#
#   --python PATH   the interpreter to install for (default python3): CPython 3.9 to 3.13
#   --prefix DIR    the virtual environment to create (default /opt/codestream-bastion)
#
# Checks every file against SHA256SUMS, makes a venv at DIR with that Python and
# installs codestream-bastion from wheels/ only (pip --no-index, no configuration
# read): nothing is fetched from anywhere. Run it as root on the bastion.
set -eu
umask 022

python=python3
prefix=/opt/codestream-bastion

say() { printf '%s\n' "install.sh: $*" >&2; }
die() { say "$*"; exit 1; }
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --python) [ $# -ge 2 ] || die "--python needs a path"; python=$2; shift 2 ;;
        --python=*) python=${1#*=}; shift ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd -P)
cd "$here"

# 1. Every file as it was built: a damaged copy or an altered wheel stops here.
[ -f SHA256SUMS ] || die "SHA256SUMS is missing in $here: unpack the whole tarball again"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is missing (coreutils): install coreutils"
if ! mismatched=$(sha256sum --check --strict --quiet SHA256SUMS 2>&1); then
    die "these files do not match SHA256SUMS (damaged or altered); nothing was installed:
$mismatched
Copy the tarball again and compare its checksum with the one published with it."
fi
# A wheel SHA256SUMS does not list would be installable all the same: refuse it.
for file in wheels/*; do
    awk '{ print $2 }' SHA256SUMS | grep -Fqx "$file" ||
        die "$file is not listed in SHA256SUMS (added after the bundle was built); nothing was installed"
done
set -- wheels/codestream_bastion-*.whl
[ -f "$1" ] || die "no codestream_bastion wheel in $here/wheels: this is not a codestream-bastion bundle"
project_wheel=$here/$1

# 2. The interpreter: a CPython this bundle has wheels for, on glibc.
command -v "$python" >/dev/null 2>&1 ||
    die "no Python at '$python': give one with --python PATH (CPython 3.9 to 3.13)"
facts=$("$python" -c 'import platform, sys
print("%d.%d" % sys.version_info[:2], platform.python_implementation(), platform.libc_ver()[0] or "none")' 2>&1) ||
    die "'$python' does not run: $facts"
set -- $facts
version=$1
case "$2 $version" in
    "CPython 3.9" | "CPython 3.10" | "CPython 3.11" | "CPython 3.12" | "CPython 3.13") ;;
    *) die "'$python' is $2 $version; this bundle holds wheels for CPython 3.9 to 3.13 only.
Debian/Ubuntu: apt-get install python3 (Debian 11 and later, Ubuntu 20.04 and later ship one)
RHEL/Rocky/Alma 8: dnf install python39 (or python3.11), then --python /usr/bin/python3.9" ;;
esac
[ "$3" = glibc ] || die "'$python' is not linked with glibc ($3): the wheels are manylinux (glibc 2.28 or later)"
case "$(uname -m)" in
    x86_64 | aarch64) ;;
    *) die "this machine is $(uname -m); the bundle holds wheels for x86_64 and aarch64 only" ;;
esac

venv_help="
Debian/Ubuntu: apt-get install python3-venv (python$version-venv for python$version); with no
  network, from the installation media: apt-cdrom add, then the same apt-get install
RHEL/Rocky/Alma/Amazon Linux: dnf install python3-pip-wheel (python3.11-pip-wheel for
  python3.11); with no network, from the installation DVD added as a local repository
  (baseurl=file:///mnt/BaseOS and file:///mnt/AppStream once it is mounted on /mnt)"
"$python" -c 'import ensurepip, venv' 2>/dev/null ||
    die "'$python' cannot make a virtual environment: its venv or ensurepip module is missing.$venv_help"

# 3. Where it goes: root's, and nobody else can change it (apply --monitor runs it daily as root).
case "$prefix" in
    /*) ;;
    *) die "--prefix must be an absolute path (got '$prefix')" ;;
esac
if [ -e "$prefix" ] && [ ! -f "$prefix/pyvenv.cfg" ] && [ -n "$(ls -A "$prefix" 2>/dev/null)" ]; then
    die "$prefix exists and is not an earlier install: choose another --prefix or empty it"
fi
if [ "$(id -u)" = 0 ]; then
    dir=$(dirname "$prefix")
    while :; do
        if [ -e "$dir" ]; then
            set -- $(stat -L -c '%u %a' "$dir")
            mode=$2
            sticky=$(( (0$mode >> 9) & 1 ))
            others_write=$(( 0$mode & 022 ))
            if [ "$1" != 0 ] || { [ "$others_write" != 0 ] && [ "$sticky" = 0 ]; }; then
                die "$dir is not root's alone (owner uid $1, mode $mode): another user could replace what root runs from $prefix; choose a prefix under a root-owned directory such as /opt"
            fi
        fi
        [ "$dir" = / ] && break
        dir=$(dirname "$dir")
    done
else
    say "not running as root: $prefix will belong to $(id -un), and apply --monitor refuses an install that root does not own"
fi

# 4. The venv, then pip and codestream-bastion from the bundle only. PIP_CONFIG_FILE=/dev/null
# and --isolated: no pip.conf or PIP_* variable can add an index, links or constraints.
if [ -f "$prefix/pyvenv.cfg" ]; then
    say "replacing the earlier install in $prefix"
    clear=--clear
else
    clear=
fi
[ -e "$prefix" ] && existed=yes || existed=
if ! made=$("$python" -m venv $clear "$prefix" 2>&1); then
    [ -n "$existed" ] || rm -rf "$prefix"
    die "'$python' could not make the virtual environment $prefix:
$made
It needs the venv and ensurepip modules.$venv_help"
fi
pip_install() {
    PIP_CONFIG_FILE=/dev/null "$prefix/bin/python" -m pip --isolated install --quiet \
        --disable-pip-version-check --no-cache-dir --no-index --find-links "$here/wheels" \
        --only-binary=:all: "$@"
}
# The venv's own pip is the one the interpreter ships (20.x on older systems, which
# predates the manylinux_2_28 wheels): the bundle's comes first.
pip_install --upgrade pip ||
    die "could not install pip from $here/wheels into $prefix (see above)"
pip_install "$project_wheel" ||
    die "could not install codestream-bastion from $here/wheels (see above): the bundle holds
wheels for CPython 3.9 to 3.13 on x86_64 and aarch64 Linux with glibc 2.28 or later"
chmod -R go-w "$prefix"
installed=$("$prefix/bin/codestream-bastion" --version) ||
    die "$prefix/bin/codestream-bastion does not run (see above)"

cat <<EOF
$installed installed in $prefix (Python $version), from the bundle only.
The command: $prefix/bin/codestream-bastion
Next, as root on this bastion: $prefix/bin/codestream-bastion   (the wizard)
    or headless: $prefix/bin/codestream-bastion check --answers answers.toml
To have it on root's PATH: ln -s $prefix/bin/codestream-bastion /usr/local/bin/
EOF
