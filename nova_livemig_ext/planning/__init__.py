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

"""Planners over plain data: no nova objects, no I/O.

The evaluation (:mod:`nova_livemig_ext.evaluation`) says, per server and
host, which rules refuse the move whatever the hosts' usage (placement's
traits and zones, nova's filters, zone, domain, the conductor's checks);
the planners then do the arithmetic of usage as planned moves land, with
the same caps as ``vacant_resources``, and the server groups.

``drain`` empties one host; ``consolidation`` empties as many hosts as the
rules allow (with ``bound``, the lower bound it is judged against, and
``packing``, its best-fit placement); ``balance`` lowers the spread of
utilization; ``scope`` holds what the last two share.
"""
