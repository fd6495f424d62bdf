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

"""``openstack livemig server destinations`` and ``server migrate``."""

import re
import time

from osc_lib.command import command
from osc_lib import exceptions
from oslo_utils import uuidutils

from nova_livemig_ext.osc import compute

# Live migrations at this microversion or later never force a host: nova's
# scheduler, and its filters, judge every move.
LIVE_MIGRATION_MICROVERSION = compute.MOVE_MICROVERSION
POLL_SECONDS = 2


def find_server(client, name_or_id):
    """The id of a server named or identified so, in any project."""
    if uuidutils.is_uuid_like(name_or_id):
        return name_or_id
    body = client.compute_get(
        '/servers', name='^%s$' % re.escape(name_or_id), all_tenants=1)
    matches = [s['id'] for s in body.get('servers', [])]
    if not matches:
        raise exceptions.CommandError(
            'No server with a name or ID of %s exists.' % name_or_id)
    if len(matches) > 1:
        raise exceptions.CommandError(
            'More than one server exists with the name %s; give its ID.'
            % name_or_id)
    return matches[0]


def _reasons(destination):
    return '; '.join('%s: %s' % (r['constraint'], r['message'])
                     for r in destination['reasons'])


class ListServerDestination(command.Lister):
    """Where a server may be live-migrated, ranked as nova would choose.

    Rank 1 is where nova's scheduler would send it now; hosts of equal
    weight share a rank. With --all, the hosts it may not go to, each with
    the rules that refuse it (the first is the one nova applies first).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', metavar='<server>',
                            help='Server (name or ID)')
        parser.add_argument('--host', metavar='<host>',
                            help='Judge this compute host only')
        parser.add_argument('--all', action='store_true', default=False,
                            help='Also list the hosts the server may not '
                                 'go to, with the reasons')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client_manager.livemig
        server_id = find_server(client, parsed_args.server)
        body = client.get('/servers/%s/destinations' % server_id,
                          host=parsed_args.host)
        server = body['server']
        self.log.info('Server %s on %s (zone %s, domains %s) needs %s',
                      server['id'], server['host'],
                      server['availability_zone'],
                      ','.join(server['migration_domains']) or 'none',
                      server['demand'])
        show_all = parsed_args.all or parsed_args.host
        columns = ['Host', 'Eligible', 'Rank', 'Weight', 'Reasons']
        rows = [[d['host'], d['eligible'], d['rank'], d['weight'],
                 _reasons(d)]
                for d in body['destinations']
                if d['eligible'] or show_all]
        return columns, rows


class MigrateServer(command.ShowOne):
    """Live-migrate a server with nova's scheduler choosing, and say why.

    A live migration at microversion 2.68 or later, never forced: with
    --host, nova's scheduler and its filters still judge that host. Prints
    where the server is expected to go and why (its rank and the
    runner-up), and, when nova refuses, the reasons of every host.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('server', metavar='<server>',
                            help='Server (name or ID)')
        parser.add_argument('--host', metavar='<host>',
                            help='Destination host (still judged by '
                                 'nova\'s scheduler)')
        parser.add_argument('--wait', action='store_true', default=False,
                            help='Wait for the migration to end')
        parser.add_argument('--timeout', metavar='<seconds>', type=int,
                            default=600,
                            help='With --wait, give up waiting after this '
                                 'many seconds (default 600)')
        return parser

    def take_action(self, parsed_args):
        client = self.app.client_manager.livemig
        server_id = find_server(client, parsed_args.server)
        body = client.get('/servers/%s/destinations' % server_id)
        source = body['server']['host']
        eligible = [d for d in body['destinations'] if d['eligible']]
        if parsed_args.host:
            chosen = [d for d in body['destinations']
                      if d['host'] == parsed_args.host]
            if not chosen:
                raise exceptions.CommandError(
                    'Compute host %s is not another compute host of the '
                    'server\'s cell.' % parsed_args.host)
            if not chosen[0]['eligible']:
                raise exceptions.CommandError(
                    'Nova would refuse to live-migrate server %s to %s: %s'
                    % (server_id, parsed_args.host, _reasons(chosen[0])))
        elif not eligible:
            raise exceptions.CommandError(
                'Nova would find no host for server %s: %s' % (
                    server_id, ' | '.join(
                        '%s: %s' % (d['host'], _reasons(d))
                        for d in body['destinations']) or
                    'no other compute host in its cell'))
        expected = (parsed_args.host if parsed_args.host
                    else eligible[0]['host'])
        compute.Compute(client).live_migrate(server_id, parsed_args.host)
        result = {'server': server_id, 'source': source,
                  'expected_destination': expected,
                  'why': _why(expected, eligible)}
        if not parsed_args.wait:
            result['status'] = 'started'
            return _show(result)
        migration = _wait(client, server_id, parsed_args.timeout)
        server = client.compute_get('/servers/%s' % server_id)['server']
        result['status'] = migration['status'] if migration else 'unknown'
        result['destination'] = server.get('OS-EXT-SRV-ATTR:host')
        if result['destination'] == source:
            after = client.get('/servers/%s/destinations' % server_id)
            result['why'] = 'nova refused: ' + (' | '.join(
                '%s: %s' % (d['host'], _reasons(d) or 'eligible now')
                for d in after['destinations']) or 'no host')
            raise exceptions.CommandError(
                'Server %s did not move (migration %s): %s'
                % (server_id, result['status'], result['why']))
        return _show(result)


def _show(result):
    """(columns, values) of a ShowOne, in column order."""
    columns = sorted(result)
    return columns, [result[c] for c in columns]


def _why(host, eligible):
    ranked = [d for d in eligible if d['host'] == host]
    if not ranked:
        return 'named by the operator'
    mine = ranked[0]
    others = [d for d in eligible if d['host'] != host]
    text = 'rank %s of %d eligible hosts, weight %s' % (
        mine['rank'], len(eligible), mine['weight'])
    if others:
        text += '; runner-up %s (rank %s, weight %s)' % (
            others[0]['host'], others[0]['rank'], others[0]['weight'])
    return text


def _wait(client, server_id, timeout):
    """The server's newest live migration once it has ended, or None."""
    deadline = time.monotonic() + timeout
    nova = compute.Compute(client)
    while True:
        migrations = nova.migrations(server_id, compute.LIVE_MIGRATION)
        if migrations and migrations[-1]['status'] in compute.ENDED:
            return migrations[-1]
        if time.monotonic() > deadline:
            raise exceptions.CommandError(
                'Server %s: the live migration did not end within %d s; '
                'follow it with openstack server migration list --server '
                '%s.' % (server_id, timeout, server_id))
        time.sleep(POLL_SECONDS)
