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

"""The read model: the only module that reads nova's databases or placement.

Every function here makes a constant number of round trips whatever the
number of hosts: callers hand in what the scheduler already holds (host
states with their aggregates) and get plain data back.
"""

from nova import context as nova_context
from nova import objects
from oslo_context import context as oslo_context
from oslo_log import log as logging

from nova_livemig_ext.constraints import base
from nova_livemig_ext.constraints import vacant_resources
from nova_livemig_ext.usage import placement

LOG = logging.getLogger(__name__)

AZ_KEY = 'availability_zone'
MAX_UTILIZATION_KEYS = {
    base.VCPU: 'livemig_vcpu_max_utilization',
    base.PCPU: 'livemig_pcpu_max_utilization',
    base.MEMORY_MB: 'livemig_ram_max_utilization',
    base.DISK_GB: 'livemig_disk_max_utilization',
}


# Placement could not be asked for the hosts' usage.
UsageUnavailable = placement.PlacementUnavailable


def admin_context():
    """The current request's context, elevated, or a new admin context.

    Filters and weighers get no context from nova; oslo.context keeps the
    one of the RPC call being served in a thread-local store, which keeps
    the global request id in our logs and placement calls.
    """
    current = oslo_context.get_current()
    if isinstance(current, nova_context.RequestContext):
        return current.elevated()
    return nova_context.get_admin_context()


def accepted_migration(ctxt, cell_mapping, instance_uuid):
    """The newest ``accepted`` migration of an instance, or None.

    Nova's conductor creates a Migration in status ``accepted`` (type
    ``live-migration``, or ``evacuation`` from the API) before it asks the
    scheduler for a destination; the status changes once a host is chosen.
    One query in the instance's cell.
    """
    with nova_context.target_cell(ctxt, cell_mapping) as cctxt:
        migrations = objects.MigrationList.get_by_filters(
            cctxt, {'instance_uuid': instance_uuid, 'status': 'accepted'},
            sort_keys=['created_at', 'id'], sort_dirs=['desc', 'desc'],
            limit=1)
    return migrations[0] if migrations else None


def host_aggregates(ctxt, host):
    """The aggregates of one host (one API database query)."""
    return objects.AggregateList.get_by_host(ctxt, host)


class AggregateFacts:
    """What one aggregate's metadata says about its hosts.

    Read once per aggregate and request: hosts share a few aggregates, and
    every access to a nova object's field has a cost.
    """

    __slots__ = ('name', 'zone', 'domain', 'caps', 'invalid')

    def __init__(self, aggregate, domain_key):
        metadata = aggregate.metadata
        self.name = aggregate.name
        self.zone = metadata.get(AZ_KEY) or None
        self.domain = (metadata.get(domain_key) or '').strip() or None
        self.caps = {}
        self.invalid = []
        for rc, key in MAX_UTILIZATION_KEYS.items():
            raw = metadata.get(key)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                value = None
            if value is None or not 0.0 < value <= 1.0:
                self.invalid.append((self.name, key, raw))
            else:
                self.caps[rc] = value


def host_facts(aggregates, domain_key, default_zone, memo=None):
    """A host's zone, migration domains and cap overrides.

    :param aggregates: the host's aggregates.
    :param memo: a dict kept for one request, aggregate -> AggregateFacts.
    :returns: (availability zone, frozenset of domains, {resource class:
        lowest valid cap}, [(aggregate, key, value) ignored as invalid]).
    """
    memo = {} if memo is None else memo
    zones = set()
    domains = set()
    caps = {}
    invalid = []
    for aggregate in aggregates:
        facts = memo.get(id(aggregate))
        if facts is None:
            facts = memo[id(aggregate)] = AggregateFacts(aggregate,
                                                         domain_key)
        if facts.zone:
            zones.add(facts.zone)
        if facts.domain:
            domains.add(facts.domain)
        for rc, value in facts.caps.items():
            caps[rc] = min(value, caps.get(rc, value))
        invalid.extend(facts.invalid)
    # NOTE: nova keeps a host in one zone; ',' joins them as nova's API
    # does should a host be in several.
    zone = ','.join(sorted(zones)) if zones else default_zone
    return zone, frozenset(domains), caps, invalid


# The usage read asks placement for allocation candidates of the smallest
# request every compute node with room for any server answers: one MB of
# memory. The candidates' provider summaries carry capacity and usage of
# every resource class of each provider (placement 1.27), whatever was
# requested, so the read neither depends on the server's request (PCPU or
# VCPU, PCI devices on nested providers, custom classes) nor leaves out a
# host that nova's own request accepted.
USAGE_PROBE = vacant_resources.USAGE_PROBE


def provider_resources(ctxt, provider_uuids, member_of=()):
    """Placement's capacity and usage of compute node providers, in bulk.

    Placement has no bulk usage read; its allocation candidates carry a
    summary (capacity and used per resource class) of every provider in
    the trees that can hold the request, fresh as of this call, so claims
    of moves just scheduled by any scheduler worker count. One request,
    whatever the number of providers: without a limit, so no candidate
    host is left out, and with ``in_tree`` when a single host is asked
    about. See :data:`USAGE_PROBE`.

    :param provider_uuids: the compute node providers of interest.
    :param member_of: uuids of aggregates every provider of interest is
        in: placement reads only their providers (``member_of``, one
        parameter per aggregate).
    :returns: provider uuid -> {resource class: base.Resource} of the
        capped resource classes the provider has, for the providers of
        interest placement returned.
    :raises UsageUnavailable: when placement fails or cannot be reached.
    """
    if not provider_uuids:
        return {}
    url = '/allocation_candidates?resources=%s' % USAGE_PROBE
    if len(provider_uuids) == 1:
        url += '&in_tree=%s' % next(iter(provider_uuids))
    for aggregate in member_of:
        url += '&member_of=%s' % aggregate
    return resources_of(placement.get(ctxt, url).get('provider_summaries',
                                                     {}), provider_uuids)


def resources_of(summaries, provider_uuids):
    """provider uuid -> {resource class: base.Resource} from summaries.

    :param summaries: the ``provider_summaries`` of any allocation
        candidates answer (placement 1.27 or later: every resource class
        of each provider, whatever was requested): capacity and used are
        the provider's, as of that answer.
    """
    wanted = set(provider_uuids)
    capped = base.CAPPED_RESOURCE_CLASSES
    return {
        rp_uuid: {rc: base.Resource(values['capacity'], values['used'])
                  for rc, values in summary.get('resources', {}).items()
                  if rc in capped}
        for rp_uuid, summary in summaries.items() if rp_uuid in wanted}
