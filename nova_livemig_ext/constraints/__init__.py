# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The constraint engine: may a server move from its host to another?

The one place that answers that question, for the scheduler filter, the
weigher, the API and the CLI alike. Constraints are stevedore plugins of
the namespace ``nova_livemig_ext.constraints`` chosen by
``[livemig_ext] constraints``; the engine runs every one of them on plain
data (:mod:`nova_livemig_ext.constraints.base`), without I/O.
"""

import collections

import stevedore

from nova_livemig_ext.constraints import base

NAMESPACE = 'nova_livemig_ext.constraints'


class ConstraintLoadError(ValueError):
    """A configured constraint name is unknown or its plugin is broken."""


class Engine:
    """Runs a fixed list of constraints; immutable, safe to share."""

    def __init__(self, constraints, settings):
        self.constraints = tuple(constraints)
        self.settings = settings

    @property
    def names(self):
        return [c.name for c in self.constraints]

    @property
    def needs_usage(self):
        return any(c.needs_usage for c in self.constraints)

    def check(self, move, host, usage=None):
        """Every rejection of ``host`` for ``move``; empty when allowed.

        :param usage: None runs every constraint; False only those that do
            not read the host's usage, True only those that do.
        """
        rejections = []
        for constraint in self.constraints:
            if usage is not None and constraint.needs_usage != usage:
                continue
            rejection = constraint.check(move, host)
            if rejection is not None:
                rejections.append(rejection)
        return rejections


def load(names, settings, option='[livemig_ext] constraints'):
    """Load the named constraint plugins into an :class:`Engine`.

    :param names: plugin names in the ``nova_livemig_ext.constraints``
        namespace, in the order they run.
    :param settings: the :class:`base.Settings` handed to each plugin.
    :param option: how to name the option in errors.
    :raises ConstraintLoadError: for an unknown name, a duplicate, or a
        plugin that is not a :class:`base.Constraint`.
    """
    names = list(names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConstraintLoadError(
            '%s lists %s more than once' % (option, ', '.join(duplicates)))
    missing = []
    manager = stevedore.NamedExtensionManager(
        NAMESPACE, names, name_order=True, invoke_on_load=False,
        on_missing_entrypoints_callback=missing.extend,
        on_load_failure_callback=_load_failure(option))
    if missing:
        known = sorted(stevedore.ExtensionManager(NAMESPACE).names())
        raise ConstraintLoadError(
            '%s: unknown constraint %s; known constraints are %s'
            % (option, ', '.join(sorted(missing)), ', '.join(known)))
    constraints = []
    for ext in manager:
        if not (isinstance(ext.plugin, type) and
                issubclass(ext.plugin, base.Constraint)):
            raise ConstraintLoadError(
                '%s: plugin %s is not a nova_livemig_ext Constraint'
                % (option, ext.name))
        constraint = ext.plugin(settings)
        constraint.name = ext.name
        constraints.append(constraint)
    return Engine(constraints, settings)


def _load_failure(option):
    def callback(manager, entrypoint, exc):
        raise ConstraintLoadError(
            '%s: constraint %s cannot be loaded: %s'
            % (option, entrypoint.name, exc))
    return callback


class Summary:
    """Counts rejections per constraint over one request, for one log line.

    Built per request and never shared.
    """

    def __init__(self):
        self.hosts = 0
        self.rejected_hosts = 0
        self.counts = collections.Counter()
        self.examples = {}
        self.errors = 0

    def add_error(self):
        """Count a host that could not be judged (and was rejected)."""
        self.hosts += 1
        self.rejected_hosts += 1
        self.errors += 1

    def add(self, rejections):
        self.hosts += 1
        if not rejections:
            return
        self.rejected_hosts += 1
        for rejection in rejections:
            self.counts[rejection.constraint] += 1
            self.examples.setdefault(rejection.constraint, rejection)

    def __str__(self):
        # NOTE: a host may break several rules, so the counts by rule may
        # add up to more than the hosts rejected: the line says which is
        # which ("3 of 3 hosts rejected; rejections by rule: ...").
        parts = ['%s rejected %d (e.g. %s: %s)'
                 % (name, count, self.examples[name].host,
                    self.examples[name].reason)
                 for name, count in sorted(self.counts.items())]
        line = '%d of %d hosts rejected' % (self.rejected_hosts, self.hosts)
        if parts:
            line += '; rejections by rule: ' + '; '.join(parts)
        if self.errors:
            line += '; %d could not be judged' % self.errors
        return line
