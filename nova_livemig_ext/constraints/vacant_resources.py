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

"""The ``vacant_resources`` constraint: keep headroom on the destination.

After the move, for every capped resource class the server needs, the
destination's usage must stay within ``max_utilization x capacity``, where
capacity is placement's ``(total - reserved) x allocation_ratio``.
"""

from nova_livemig_ext.constraints import base

# What the usage read asks placement for; kept here, free of I/O, so that
# the refusal of a host the read did not list can name it.
USAGE_PROBE = '%s:1' % base.MEMORY_MB


def headroom_function(move, settings):
    """A function of a HostView: the tightest headroom left after ``move``.

    Headroom of one resource class is ``(max_utilization x capacity - used
    - requested) / capacity``; the function returns the smallest over the
    resource classes the server needs: negative when the move would pass a
    cap, None when the host's usage is unknown or the server needs none of
    them. What depends on the move alone is worked out once, as the weigher
    calls it for every candidate host.
    """
    default_caps = settings.max_utilization

    def needs(capped_demand):
        return tuple((rc, amount, default_caps[rc])
                     for rc, amount in capped_demand)

    move_needs = needs(move.capped_demand)

    def headroom(host):
        resources = host.resources
        needed = (move_needs if host.demand is None else
                  needs(move.capped_demand_on(host)))
        if resources is None or not needed:
            return None
        caps = host.max_utilization
        tightest = None
        for rc, requested, default_cap in needed:
            resource = resources.get(rc)
            if resource is None or resource.capacity <= 0:
                return None
            capacity = resource.capacity
            value = (caps.get(rc, default_cap) * capacity - resource.used -
                     requested) / capacity
            if tightest is None or value < tightest:
                tightest = value
        return tightest

    return headroom


def headroom(move, host, settings):
    """The tightest headroom on ``host`` after ``move``; see above."""
    return headroom_function(move, settings)(host)


class VacantResources(base.Constraint):
    """The destination stays within its utilization caps after the move."""

    name = 'vacant_resources'
    needs_usage = True

    def check(self, move, host):
        if host.resources is None:
            return base.Rejection(
                self.name, host.name,
                "placement's usage read (allocation candidates for %s) did "
                "not list this host's compute node provider" % USAGE_PROBE,
                {})
        resources = host.resources
        default_caps = self.settings.max_utilization
        for rc, requested in move.capped_demand_on(host):
            resource = resources.get(rc)
            if resource is None:
                return base.Rejection(
                    self.name, host.name,
                    '%s: requested %d, the host has no %s inventory'
                    % (rc, requested, rc),
                    {'resource_class': rc, 'requested': requested})
            cap = host.max_utilization.get(rc, default_caps[rc])
            allowed = cap * resource.capacity - resource.used
            if requested > allowed:
                return base.Rejection(
                    self.name, host.name,
                    '%s: requested %d, allowed after the move %g of '
                    'capacity %g at %g (used %g)'
                    % (rc, requested, max(allowed, 0), resource.capacity,
                       cap, resource.used),
                    {'resource_class': rc, 'requested': requested,
                     'allowed': max(allowed, 0),
                     'capacity': resource.capacity,
                     'max_utilization': cap, 'used': resource.used})
        return None
