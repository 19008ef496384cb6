"""The nginx adapter: everything the tool asks of nginx, as data.

- :mod:`~wizard.nginx.binary`: which executable (:func:`find_binary`), its
  version and what it was built with (:func:`detect_nginx_features`).
- :mod:`~wizard.nginx.command`: running it with a timeout (:func:`run_command`,
  ``nginx -t`` and ``-T``).
- :mod:`~wizard.nginx.config`: the configuration as nginx loads it
  (:func:`read_tree`, from ``nginx -T`` or from the files).
- :mod:`~wizard.nginx.layout`: where the server block goes (:func:`detect_layout`).
- :mod:`~wizard.nginx.servers`: server blocks claiming a name and port, and
  where they log.
- :mod:`~wizard.nginx.master`: is a master running for a tree, and how to start one.

It returns data and never findings: the verdicts are in :mod:`wizard.checks.nginx`
(ARCHITECTURE.md, "The nginx adapter").
"""

from __future__ import annotations

from wizard.nginx.binary import (
    NginxFeatures,
    detect_nginx_features,
    find_binary,
    host_supports_ipv6,
    nginx_version,
    parse_nginx_v,
    parse_version,
)
from wizard.nginx.command import (
    COMMAND_TIMEOUT,
    CommandResult,
    config_dump,
    config_test,
    config_test_message,
    nginx_argv,
    run_command,
)
from wizard.nginx.config import (
    ConfigError,
    Directive,
    Tree,
    parse_config,
    read_tree,
    resolve_include,
    split_dump,
    tokenize,
)
from wizard.nginx.layout import Layout, LayoutError, LayoutStyle, detect_layout
from wizard.nginx.servers import (
    ServerLimits,
    find_conflicting_server_blocks,
    server_claims,
    server_error_log,
    server_limits,
    serving_block,
)

__all__ = [
    "COMMAND_TIMEOUT",
    "CommandResult",
    "ConfigError",
    "Directive",
    "Layout",
    "LayoutError",
    "LayoutStyle",
    "NginxFeatures",
    "ServerLimits",
    "Tree",
    "config_dump",
    "config_test",
    "config_test_message",
    "detect_layout",
    "detect_nginx_features",
    "find_binary",
    "find_conflicting_server_blocks",
    "host_supports_ipv6",
    "nginx_argv",
    "nginx_version",
    "parse_config",
    "parse_nginx_v",
    "parse_version",
    "read_tree",
    "resolve_include",
    "run_command",
    "server_claims",
    "server_error_log",
    "server_limits",
    "serving_block",
    "split_dump",
    "tokenize",
]
