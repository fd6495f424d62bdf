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

"""Reads of a scope of hosts for the consolidation and balance plans.

A scope is the compute hosts of an availability zone, of a host
aggregate, of both, or of every cell. Its reads are in bulk and their
number does not grow with the hosts or the servers:

- the API database: the cell mappings and the aggregates (one
  transaction), then the request specs of the scope's servers (one
  query, their JSON read as plain data; only one server's spec per class
  of equal requests becomes a nova object);
- each cell: compute nodes and services (one transaction), the scope's
  instances (one query of a few columns), the representatives' instances
  (one query);
- placement: the scope's usage (one request, plus one per host full in
  VCPU) and inventories (nova-api's cache); the providers of each zone
  servers are pinned to (one request and one aggregate query per zone);
- the network API: the ports with a resource request (one listing).
"""

import dataclasses
import datetime

from nova import context as nova_context
from nova.db.api import api as api_db_api
from nova.db.api import models as api_models
from nova.db.main import api as main_db
from nova.db.main import models as main_models
from nova import objects
from oslo_serialization import jsonutils
from oslo_utils import timeutils

from nova_livemig_ext.usage import hosts as host_usage
from nova_livemig_ext.usage import placement
from nova_livemig_ext.usage import servers as server_reads

# The request spec fields the plans read (see scope_plans), and those
# many servers have equal.
SPEC_FIELDS = ('flavor', 'image', 'availability_zone', 'is_bfv',
               'scheduler_hints', 'force_hosts', 'force_nodes',
               'instance_group', 'pci_requests', 'numa_topology',
               'project_id')
SHARED_FIELDS = ('flavor', 'image')
# A port listing filtered by device id carries every id in its URL: above
# this many servers, the ports are listed once unfiltered instead.
PORT_FILTER_LIMIT = 100
CPU_PERCENT = 'cpu.percent'


class ScopeNotFound(LookupError):
    """A zone or aggregate of the scope names nothing (a 404)."""

    def __init__(self, parameter, value, known):
        super().__init__(
            'No %s named %s; known: %s.' % (
                'availability zone' if parameter == 'availability_zone'
                else 'host aggregate', value,
                ', '.join(sorted(known)) or 'none'))
        self.parameter = parameter
        self.value = value


@dataclasses.dataclass
class CellScope:
    """The scope's hosts in one cell.

    :param names: the scope's compute hosts of the cell, sorted (each
        with a compute node and a nova-compute service).
    :param nodes: host -> its first compute node.
    """

    cell: 'objects.CellMapping'
    hosts: server_reads.CellHosts
    names: list
    nodes: dict


@dataclasses.dataclass
class Scope:
    availability_zone: str | None
    aggregate: str | None
    cells: list

    @property
    def names(self):
        return sorted(name for cell in self.cells for name in cell.names)

    def as_dict(self):
        return {'availability_zone': self.availability_zone,
                'aggregate': self.aggregate, 'hosts': self.names}


def _aggregate(aggregates, value):
    """The aggregate named (or of id or uuid) ``value``, or None."""
    for aggregate in aggregates:
        if value in (aggregate.name, str(aggregate.id), aggregate.uuid):
            return aggregate
    return None


def resolve(ctxt, zone=None, aggregate=None, domain_key=None,
            default_zone=None):
    """The scope's hosts, cell by cell.

    :raises ScopeNotFound: ``zone`` or ``aggregate`` names nothing.
    """
    from nova_livemig_ext import usage

    with host_usage._reads(ctxt):
        cells = [cell for cell in objects.CellMappingList.get_all(ctxt)
                 if not cell.is_cell0()]
        aggregates = list(objects.AggregateList.get_all(ctxt))
    memo = {}
    wanted = None
    if aggregate is not None:
        found = _aggregate(aggregates, aggregate)
        if found is None:
            raise ScopeNotFound('aggregate', aggregate,
                                {agg.name for agg in aggregates})
        wanted = set(found.hosts)
    if zone is not None:
        zones = {default_zone}
        for agg in aggregates:
            facts = usage.AggregateFacts(agg, domain_key)
            if facts.zone:
                zones.add(facts.zone)
        if zone not in zones:
            raise ScopeNotFound('availability_zone', zone, zones)
    result = []
    for cell in sorted(cells, key=lambda c: c.uuid):
        cell_hosts = server_reads.cell_hosts(ctxt, cell)
        nodes = {}
        for node in sorted(cell_hosts.nodes, key=lambda n: (n.host, n.id)):
            if node.host in nodes or node.host not in cell_hosts.services:
                continue
            if wanted is not None and node.host not in wanted:
                continue
            if zone is not None and usage.host_facts(
                    cell_hosts.aggregates.get(node.host, []), domain_key,
                    default_zone, memo)[0] != zone:
                continue
            nodes[node.host] = node
        if nodes:
            result.append(CellScope(cell, cell_hosts, sorted(nodes), nodes))
    return Scope(zone, aggregate, result)


@dataclasses.dataclass
class ScopeServer:
    """A server of the scope as its rows give it, before any nova object.

    :param data: its request spec's fields the plans read
        (:data:`SPEC_FIELDS` of ``nova_object.data`` in the stored JSON)
        as plain data, or None without one; equal flavors and images are
        one object, not to be changed.
    """

    uuid: str
    host: str
    name: str
    vm_state: str
    task_state: str | None
    project_id: str
    data: dict | None
    has_port_resources: bool = False

    def group(self):
        """(uuid, policy) of its server group, or (None, None)."""
        group = (self.data or {}).get('instance_group')
        if not group:
            return None, None
        fields = group.get('nova_object.data', {})
        policy = fields.get('policy')
        if policy is None and fields.get('policies'):
            policy = fields['policies'][0]
        return fields.get('uuid'), policy


def servers(ctxt, cell_scope):
    """The servers on the scope's hosts of one cell, oldest first."""
    instance = main_models.Instance
    with nova_context.target_cell(ctxt, cell_scope.cell) as cctxt:
        with host_usage._reads(cctxt, cell=cell_scope.cell):
            rows = main_db.model_query(
                cctxt, instance,
                (instance.uuid, instance.host, instance.display_name,
                 instance.vm_state, instance.task_state,
                 instance.project_id),
                read_deleted='no').filter(
                    instance.host.in_(cell_scope.names)).order_by(
                        instance.created_at, instance.id).all()
    uuids = [row[0] for row in rows]
    specs = _spec_data(ctxt, uuids)
    with_ports = _port_resource_servers(ctxt, uuids)
    return [ScopeServer(uuid, host, name or '', vm_state, task_state,
                        project_id, specs.get(uuid), uuid in with_ports)
            for uuid, host, name, vm_state, task_state, project_id in rows]


@api_db_api.context_manager.reader
def _spec_rows(context, uuids):
    spec = api_models.RequestSpec
    return context.session.query(spec.instance_uuid, spec.spec).filter(
        spec.instance_uuid.in_(uuids)).all()


def _spec_data(ctxt, uuids):
    """uuid -> the request spec's fields the plans read, as plain data.

    One query. Equal flavors and images are kept once: at 20,000 servers,
    one copy of each per server is millions of objects that Python's
    garbage collector would go over again and again while the plan is
    made.
    """
    if not uuids:
        return {}
    with host_usage._reads(ctxt):
        rows = _spec_rows(ctxt, uuids)
    shared = {}
    result = {}
    for uuid, text in rows:
        data = jsonutils.loads(text).get('nova_object.data', {})
        kept = {field: data[field] for field in SPEC_FIELDS if field in data}
        for field in SHARED_FIELDS:
            if isinstance(kept.get(field), dict):
                kept[field] = _shared(shared, field, kept[field])
        result[uuid] = kept
    return result


def _shared(shared, field, value):
    """The one kept object equal to ``value`` (a primitive)."""
    data = value.get('nova_object.data')
    hint = data.get('id') if isinstance(data, dict) else None
    bucket = shared.setdefault(
        (field, hint if isinstance(hint, (str, int)) else None), [])
    for kept in bucket:
        if kept == value:
            return kept
    bucket.append(value)
    return value


def _port_resource_servers(ctxt, uuids):
    """The servers of ``uuids`` with a port that requests resources."""
    from nova.network import constants
    from nova.network import neutron

    if not uuids:
        return set()
    client = neutron.get_client(ctxt, admin=True)
    fields = ['id', 'device_id', constants.RESOURCE_REQUEST]
    if len(uuids) <= PORT_FILTER_LIMIT:
        data = client.list_ports(device_id=list(uuids), fields=fields)
    else:
        data = client.list_ports(fields=fields)
    wanted = set(uuids)
    return {port['device_id'] for port in data.get('ports', [])
            if port.get(constants.RESOURCE_REQUEST) and
            port.get('device_id') in wanted}


def representatives(ctxt, cell, uuids):
    """uuid -> :class:`servers.Server` of each, prepared for a move.

    Two queries whatever their number: the request specs and the
    instances; the ports' resource requests only for the servers that
    have some.
    """
    if not uuids:
        return {}
    specs = {spec.instance_uuid: spec for spec in
             objects.RequestSpec.get_by_instance_uuids(ctxt, list(uuids))}
    with nova_context.target_cell(ctxt, cell) as cctxt:
        with host_usage._reads(cctxt, cell=cell):
            instances = objects.InstanceList.get_by_filters(
                cctxt, {'uuid': list(uuids), 'deleted': False},
                expected_attrs=['flavor', 'numa_topology', 'pci_requests'])
    result = {}
    for instance in instances:
        spec = specs.get(instance.uuid)
        if spec is not None:
            result[instance.uuid] = server_reads.Server(instance, cell, spec)
    return result


def zone_providers(ctxt, zone):
    """uuids of placement's providers in ``zone``'s aggregates, or None.

    What nova's request filter ``map_az_to_placement_aggregate`` makes
    placement keep for a server pinned to ``zone``: the providers of any
    aggregate whose ``availability_zone`` is ``zone`` (the same aggregate
    query as nova's, then one placement request). None when no aggregate
    has the zone: nova's request filter adds nothing then.
    """
    with host_usage._reads(ctxt):
        aggregates = objects.AggregateList.get_by_metadata(
            ctxt, key='availability_zone', value=zone)
    if not aggregates:
        return None
    body = placement.get(
        ctxt, '/resource_providers?member_of=in:%s' % ','.join(
            sorted(agg.uuid for agg in aggregates)), version='1.3')
    return {rp['uuid'] for rp in body.get('resource_providers', [])}


def cpu_measurement(node, now, max_age):
    """(percent busy of the host's cores, seconds since epoch) or Nones.

    nova's compute monitors store ``cpu.percent`` in the compute node's
    metrics as a fraction (nova divides percentages by 100 there).
    A measurement older than ``max_age`` seconds is none.
    """
    raw = node.metrics if 'metrics' in node else None
    if not raw:
        return None, None
    try:
        metrics = jsonutils.loads(raw)
    except ValueError:
        return None, None
    for metric in metrics or ():
        if metric.get('name') != CPU_PERCENT or 'value' not in metric:
            continue
        try:
            stamp = timeutils.parse_isotime(metric['timestamp'])
            value = float(metric['value']) * 100.0
        except (KeyError, TypeError, ValueError):
            return None, None
        stamp = timeutils.normalize_time(stamp).replace(
            tzinfo=datetime.UTC).timestamp()
        if now - stamp > max_age:
            return None, stamp
        return value, stamp
    return None, None
