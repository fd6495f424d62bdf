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

"""The ``migration_domain`` constraint: stay on the source's shared storage.

A host's migration domains are the values of ``migration_domain_key`` in
the metadata of its aggregates. Source and destination must share one;
hosts without a domain form a group of their own. Servers without local
disk (volume-backed, no ephemeral or swap) are bound to no domain.
"""

from nova_livemig_ext.constraints import base


def _names(domains):
    return ', '.join(sorted(domains)) if domains else 'none'


def same_domain(move, host):
    """Whether ``host`` shares a migration domain with the move's source.

    True as well for servers that have no local disk.
    """
    if not move.local_disk:
        return True
    if move.source.domains:
        return bool(move.source.domains & host.domains)
    return not host.domains


class MigrationDomain(base.Constraint):
    """The destination shares a migration domain with the source host."""

    name = 'migration_domain'

    def check(self, move, host):
        if self.settings.migration_domain_mode != 'required':
            return None
        if same_domain(move, host):
            return None
        return base.Rejection(
            self.name, host.name,
            'the host is in migration domain %s, the source host %s is in '
            '%s' % (_names(host.domains), move.source.name,
                    _names(move.source.domains)),
            {'domains': sorted(host.domains),
             'source_domains': sorted(move.source.domains)})
