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

"""Reads for judging one server's move as nova's scheduler would.

What nova's conductor and scheduler read for a live migration, in bulk:
the server, its request spec and server group (API database), every
compute node, compute service and the instances by host of the server's
cell (one transaction on the cell database), the aggregates (API
database), and placement's allocation candidates for the server's request
as nova builds it. A constant number of round trips whatever the number
of hosts and instances.
"""

import collections
import dataclasses

from nova import context as nova_context
from nova.db.main import api as main_db
from nova.db.main import models as main_models
from nova import exception as nova_exception
from nova import objects
from nova.scheduler.client import report
from nova.scheduler import utils as scheduler_utils

from nova_livemig_ext.usage import hosts as host_usage
from nova_livemig_ext.usage import placement


class ServerNotFound(LookupError):
    """No server of that id."""


@dataclasses.dataclass
class Server:
    """A server, its cell and the request spec nova would schedule with."""

    instance: 'objects.Instance'
    cell: 'objects.CellMapping'
    spec: 'objects.RequestSpec'


@dataclasses.dataclass
class CellHosts:
    """Every compute host of one cell, as nova's scheduler sees them.

    :param nodes: the compute nodes.
    :param services: host -> the nova-compute Service.
    :param aggregates: host -> its Aggregates.
    :param instances: host -> {instance uuid: a lean Instance (uuid and
        host only)}, for the filters and weighers that look at a host's
        instances (SameHostFilter, DifferentHostFilter, the soft affinity
        weighers).
    """

    nodes: list
    services: dict
    aggregates: dict
    instances: dict


def server(ctxt, server_id):
    """The server, its cell and its request spec.

    Two API database reads (instance mapping, request spec) and one in the
    server's cell (the instance with its flavor, NUMA topology and PCI
    requests).

    :raises ServerNotFound: when no server has that id.
    """
    try:
        mapping = objects.InstanceMapping.get_by_instance_uuid(
            ctxt, server_id)
    except nova_exception.InstanceMappingNotFound as exc:
        raise ServerNotFound(server_id) from exc
    if mapping.cell_mapping is None:
        # Not scheduled yet (still building): no host to move from.
        raise ServerNotFound(server_id)
    cell = mapping.cell_mapping
    with nova_context.target_cell(ctxt, cell) as cctxt:
        try:
            instance = objects.Instance.get_by_uuid(
                cctxt, server_id,
                expected_attrs=['flavor', 'numa_topology', 'pci_requests',
                                'system_metadata'])
        except nova_exception.InstanceNotFound as exc:
            raise ServerNotFound(server_id) from exc
    spec = objects.RequestSpec.get_by_instance_uuid(ctxt, server_id)
    return Server(instance, cell, spec)


def prepare_spec(ctxt, found):
    """The request spec as nova's conductor sends it for a live migration.

    The steps of nova's ``LiveMigrationTask``: forced hosts reset, resource
    requests of the server's ports (one network API call) and of its PCI
    requests, its server group's members and hosts, the source cell, and
    the source host ignored.
    """
    from nova.network import neutron

    port_res_req, req_lvl_params = (
        neutron.API().get_requested_resource_for_instance(
            ctxt, found.instance.uuid))
    return _prepare(ctxt, found, port_res_req, req_lvl_params)


def _prepare(ctxt, found, port_res_req, req_lvl_params):
    spec = found.spec
    instance = found.instance
    spec.reset_forced_destinations()
    spec.requested_resources = port_res_req
    spec.request_level_params = req_lvl_params
    if 'pci_requests' not in spec or spec.pci_requests is None:
        spec.pci_requests = instance.pci_requests
    spec.generate_request_groups_from_pci_requests()
    if 'instance_group' in spec and spec.instance_group:
        # NOTE: nova's helper reads the group's members and hosts, and
        # the group of the instance: only for a server in a group.
        scheduler_utils.setup_instance_group(ctxt, spec)
    spec.requested_destination = objects.Destination(cell=found.cell)
    spec.ignore_hosts = [instance.host]
    return spec


@dataclasses.dataclass
class HostServers:
    """The servers on one host, for a plan that moves them all.

    :param cell: the host's cell mapping.
    :param servers: [:class:`Server`] with their request specs prepared as
        nova's conductor sends them, oldest first.
    :param without_spec: instances nova has no request spec for.
    """

    cell: 'objects.CellMapping'
    servers: list
    without_spec: list


def host_servers(ctxt, cell, host):
    """Every server on ``host`` with its request spec prepared, in bulk.

    One query in the cell (the instances with their flavors, NUMA
    topologies and PCI requests), one on the API database (the request
    specs), one network API call (the ports' resource requests, with one
    more for neutron's extensions), and nova's group reads for each
    server in a server group.
    """
    with nova_context.target_cell(ctxt, cell) as cctxt:
        with host_usage._reads(cctxt, cell=cell):
            instances = objects.InstanceList.get_by_filters(
                cctxt, {'host': host, 'deleted': False},
                sort_keys=['created_at', 'id'], sort_dirs=['asc', 'asc'],
                expected_attrs=['flavor', 'numa_topology', 'pci_requests',
                                'system_metadata'])
    uuids = [instance.uuid for instance in instances]
    specs = {spec.instance_uuid: spec for spec in
             objects.RequestSpec.get_by_instance_uuids(ctxt, uuids)}
    ports = port_resource_requests(ctxt, [u for u in uuids if u in specs])
    found = []
    without = []
    for instance in instances:
        spec = specs.get(instance.uuid)
        if spec is None:
            without.append(instance)
            continue
        server = Server(instance, cell, spec)
        _prepare(ctxt, server, *ports[instance.uuid])
        found.append(server)
    return HostServers(cell, found, without)


def port_resource_requests(ctxt, instance_uuids):
    """uuid -> (RequestGroups, RequestLevelParams) of the servers' ports.

    nova's ``get_requested_resource_for_instance`` for many servers: one
    port listing for all of them rather than one per server.
    """
    from nova.network import constants
    from nova.network import neutron

    result = {uuid: ([], objects.RequestLevelParams())
              for uuid in instance_uuids}
    if not instance_uuids:
        return result
    api = neutron.API()
    client = neutron.get_client(ctxt, admin=True)
    data = client.list_ports(
        device_id=list(instance_uuids),
        fields=['id', 'device_id', constants.RESOURCE_REQUEST])
    ports = [port for port in data.get('ports', [])
             if port.get(constants.RESOURCE_REQUEST)]
    if not ports:
        return result
    extended = api.has_extended_resource_request_extension(ctxt, client)
    for port in ports:
        groups, params = result[port['device_id']]
        request = port[constants.RESOURCE_REQUEST]
        if extended:
            groups.extend(objects.RequestGroup.from_extended_port_request(
                context=None, port_resource_request=request))
            params.extend_with(objects.RequestLevelParams.from_port_request(
                port_resource_request=request))
        else:
            groups.append(objects.RequestGroup.from_port_request(
                context=None, port_uuid=port['id'],
                port_resource_request=request))
    return result


def instances_by_host(ctxt, cell):
    """host -> {uuid: lean Instance} for every instance on a host of cell.

    One query on the cell database, two columns per instance.
    """
    with nova_context.target_cell(ctxt, cell) as cctxt:
        with host_usage._reads(cctxt, cell=cell):
            return _instances_by_host(cctxt)


def _instances_by_host(cctxt):
    instance = main_models.Instance
    query = main_db.model_query(
        cctxt, instance, (instance.uuid, instance.host),
        read_deleted='no').filter(instance.host.isnot(None))
    by_host = collections.defaultdict(dict)
    for uuid, host in query:
        by_host[host][uuid] = objects.Instance(uuid=uuid, host=host)
    return by_host


def cell_hosts(ctxt, cell):
    """Every compute host of ``cell``; see :class:`CellHosts`.

    One transaction on the cell database (compute nodes, compute services)
    and one query on the API database (aggregates). ``instances`` is left
    empty: :func:`instances_by_host` reads them when a filter or weigher
    in use looks at them.
    """
    with nova_context.target_cell(ctxt, cell) as cctxt:
        with host_usage._reads(cctxt, cell=cell):
            nodes = list(objects.ComputeNodeList.get_all(cctxt))
            services = {
                service.host: service for service in
                objects.ServiceList.get_by_binary(
                    cctxt, 'nova-compute', include_disabled=True)}
    instances = {}
    aggregates = collections.defaultdict(list)
    for aggregate in objects.AggregateList.get_all(ctxt):
        for host in aggregate.hosts:
            aggregates[host].append(aggregate)
    return CellHosts(nodes, services, aggregates, instances)


def allocation_candidates(ctxt, resources):
    """nova's own placement query: (allocation requests, summaries).

    The request nova's scheduler makes (nova's report client builds the
    same query string, at the same microversion), through
    :func:`placement.get` and its retry.

    :raises placement.PlacementUnavailable: when placement fails.
    """
    body = placement.get(
        ctxt, '/allocation_candidates?%s' % resources.to_querystring(),
        version=report.SAME_SUBTREE_VERSION)
    return body['allocation_requests'], body['provider_summaries']
