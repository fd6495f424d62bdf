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

"""``openstack livemig host list|show`` and ``host server list``."""

from osc_lib.command import command

RESOURCE_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')


def _used_of(host, rc):
    entry = host['resources'].get(rc)
    if not entry:
        return ''
    return '%s/%s' % (entry['used'], entry['capacity'])


def _free_of(host, rc):
    entry = host['resources'].get(rc)
    return entry['free'] if entry else ''


def _service(host):
    service = host['service']
    return '%s, %s' % (service['status'], service['state'])


class ListHost(command.Lister):
    """List compute hosts with their capacity, usage and free resources."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--availability-zone', metavar='<zone>',
                            help='Only hosts of this availability zone')
        parser.add_argument('--aggregate', metavar='<aggregate>',
                            help='Only hosts of this aggregate (name)')
        parser.add_argument('--migration-domain', metavar='<domain>',
                            help='Only hosts of this migration domain')
        parser.add_argument('--long', action='store_true', default=False,
                            help='Also show cell, aggregates, disabled '
                                 'reason and free resources')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client_manager.livemig
        hosts, body = client.get_all(
            '/hosts', 'hosts',
            availability_zone=parsed_args.availability_zone,
            aggregate=parsed_args.aggregate,
            migration_domain=parsed_args.migration_domain)
        for cell in body.get('unreachable_cells', []):
            self.log.warning('Cell %s did not answer: its hosts are not '
                             'listed.', cell)
        columns = ['Host', 'Zone', 'Domains', 'Service', 'Instances',
                   'VCPU used/capacity', 'RAM MB used/capacity',
                   'Disk GB used/capacity']
        if parsed_args.long:
            columns += ['Cell', 'Aggregates', 'Disabled Reason',
                        'VCPU free', 'RAM MB free', 'Disk GB free']
        rows = []
        for host in hosts:
            row = [host['host'], host['availability_zone'],
                   ','.join(host['migration_domains']), _service(host),
                   host['instances']]
            row += [_used_of(host, rc) for rc in RESOURCE_CLASSES]
            if parsed_args.long:
                row += [host['cell'], ','.join(host['aggregates']),
                        host['service']['disabled_reason'] or '']
                row += [_free_of(host, rc) for rc in RESOURCE_CLASSES]
            rows.append(row)
        return columns, rows


class ShowHost(command.Lister):
    """Show a host's totals and one row per project.

    As the 2010 ``nova-manage host show`` printed it: the host's capacity,
    use and free resources, then each project's instances and resources,
    then what moves in progress hold on the host, then allocations that
    neither accounts for (``nova-manage placement audit`` finds those).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='<host>',
                            help='Compute host name')
        return parser

    def take_action(self, parsed_args):
        host = self.app.client_manager.livemig.get(
            '/hosts/%s' % parsed_args.host)['host']
        columns = ['Host', 'Project', 'Instances'] + list(RESOURCE_CLASSES)
        name = host['host']
        res = host['resources']

        def total(label, key, instances=''):
            return [name, label, instances] + [
                res[rc][key] if rc in res else '' for rc in RESOURCE_CLASSES]

        rows = [total('(capacity)', 'capacity'),
                total('(used)', 'used', host['instances']),
                total('(free)', 'free')]
        for project in host['projects']:
            rows.append([name, project['project_id'], project['instances']] +
                        [project[rc] for rc in RESOURCE_CLASSES])
        for direction in ('outgoing', 'incoming'):
            for move in host['migrations'][direction]:
                label = '(%s %s %s)' % (direction, move['migration_type'],
                                        move['server_id'])
                rows.append([name, label, ''] +
                            [move['held'].get(rc, 0)
                             for rc in RESOURCE_CLASSES])
        # A server older than this field has no other_allocations.
        for other in host.get('other_allocations', []):
            rows.append([name, '(other %s)' % other['consumer_id'], ''] +
                        [other['held'].get(rc, 0) for rc in RESOURCE_CLASSES])
        return columns, rows


class ListHostServer(command.Lister):
    """List the servers on a compute host, of every project."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('host', metavar='<host>',
                            help='Compute host name')
        parser.add_argument('--project', metavar='<project-id>',
                            help='Only servers of this project (ID)')
        return parser

    def take_action(self, parsed_args):
        servers, _ = self.app.client_manager.livemig.get_all(
            '/hosts/%s/servers' % parsed_args.host, 'servers',
            project_id=parsed_args.project)
        columns = ['ID', 'Name', 'Project', 'Flavor', 'VCPUs', 'RAM MB',
                   'Disk GB', 'VM State', 'Task State', 'Power State',
                   'Zone', 'Created']
        rows = [[s['id'], s['name'], s['project_id'], s['flavor']['name'],
                 s['flavor']['vcpus'], s['flavor']['ram'],
                 s['flavor']['disk'], s['vm_state'], s['task_state'] or '',
                 s['power_state'], s['availability_zone'], s['created_at']]
                for s in servers]
        return columns, rows
