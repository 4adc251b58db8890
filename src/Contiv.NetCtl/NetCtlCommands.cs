using System.CommandLine;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>
/// netctl's command tree, reproducing Contiv's commands, flags, aliases and output text so the
/// tutorials' sessions replay unchanged. Output goes to the given writers (tests capture them).
/// <c>--json</c> (<c>-j</c>, on every command) prints JSON instead of text: the same JSON for the
/// inspect commands, netmaster's objects for the listings and <c>global info</c>, a
/// <see cref="ChangeReport"/> for the commands that change something. Errors are the same with or
/// without it: one <c>Error: ...</c> line on stderr, exit code 1, nothing on stdout.
/// </summary>
public sealed partial class NetCtlCommands(TextWriter output, TextWriter error, Func<NetmasterConnection, NetmasterClient> clientFactory)
{
    public const string DefaultNetmaster = "http://127.0.0.1:9999";

    private readonly Option<string> _netmaster = new("--netmaster")
    {
        Description = "netmaster URL (env NETMASTER)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("NETMASTER") ?? DefaultNetmaster,
    };

    private readonly Option<string?> _token = new("--token")
    {
        Description = "bearer token for netmaster (env CONTIV_TOKEN)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_TOKEN"),
    };

    private readonly Option<string?> _tlsCa = new("--tls-ca")
    {
        Description = "PEM file of the CA (or self-signed certificate) to trust for an https netmaster, instead of the system's CAs (env CONTIV_TLS_CA)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CONTIV_TLS_CA"),
    };

    // Recursive, so every command takes it, as `-j` or `--json` (Contiv's spelling on `ls`).
    private readonly Option<bool> _json = new("--json", "-j")
    {
        Description = "print JSON instead of text (errors stay one line on stderr)",
        Recursive = true,
    };

    /// <summary>How long a shell completion waits for netmaster's names before offering none.</summary>
    public static TimeSpan CompletionTimeout { get; } = TimeSpan.FromSeconds(2);

    public RootCommand Build()
    {
        var root = new RootCommand("netctl: command line client for ContivDocker's netmaster") { _netmaster, _token, _tlsCa, _json };

        // DOS-style spellings only clutter shell completion on a Unix tool; -h, -? and --help stay.
        var help = root.Options.OfType<System.CommandLine.Help.HelpOption>().Single();
        help.Aliases.Remove("/?");
        help.Aliases.Remove("/h");
        root.Subcommands.Add(VersionCommand());
        root.Subcommands.Add(TenantCommand());
        root.Subcommands.Add(NetworkCommand());
        root.Subcommands.Add(GlobalCommand());
        root.Subcommands.Add(EndpointCommand());
        root.Subcommands.Add(HostCommand());
        root.Subcommands.Add(GroupCommand());
        root.Subcommands.Add(PolicyCommand());
        root.Subcommands.Add(NetProfileCommand());
        root.Subcommands.Add(CompletionCommand());
        return root;
    }

    public async Task<int> RunAsync(string[] args, CancellationToken ct = default)
    {
        var root = Build();
        var parse = root.Parse(Contiv.CommandLine.GoStyleFlags.NormalizeTree(root, args));
        if (parse.Errors.Count > 0)
        {
            // One line, like every other netctl error, naming what the command expects.
            var command = parse.CommandResult.Command;
            var usage = string.Join(' ', new[] { "netctl" }.Concat(CommandPath(parse.CommandResult)).Concat(command.Arguments.Select(a => a.Name)));
            await error.WriteLineAsync($"Error: {parse.Errors[0].Message} (usage: {usage} [options]; see --help)");
            return 1;
        }

        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, ct);
    }

    private static Stack<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r?.Parent is System.CommandLine.Parsing.CommandResult parent; r = parent)
        {
            names.Push(r.Command.Name);
        }

        return names;
    }

    // ---- version ---------------------------------------------------------------------------------

    private Command VersionCommand()
    {
        var command = new Command("version", "Print client and server versions");
        SetAction(command, async (parse, client, ct) =>
        {
            var local = VersionInfoReader.Read(typeof(NetCtlCommands).Assembly);
            if (parse.GetValue(_json))
            {
                WriteJson(new VersionReport { Client = local, Server = await client.VersionAsync(ct) }, NetCtlJson.Default.VersionReport);
                return;
            }

            // The client block first, as Contiv does: it changes nothing, and it is what one wants to
            // see when netmaster cannot be reached (the one command whose stdout is not empty then).
            output.Write($"Client Version:\nVersion: {local.Version}\nGitCommit: {local.GitCommit}\nBuildTime: {local.BuildTime}\n\n");
            var server = await client.VersionAsync(ct);
            output.Write($"Server Version:\nVersion: {server.Version}\nGitCommit: {server.GitCommit}\nBuildTime: {server.BuildTime}\n");
        });
        return command;
    }

    // ---- tenant ----------------------------------------------------------------------------------

    private Command TenantCommand()
    {
        var tenant = new Command("tenant", "Tenant operations");

        var createName = new Argument<string>("TENANT");
        var create = new Command("create", "Create a tenant") { createName };
        SetAction(create, async (parse, client, ct) =>
        {
            var name = parse.GetValue(createName)!;
            Names.ValidateTenant(name);
            var created = new Tenant { Key = name, TenantName = name };
            await ReportAsync(parse, $"Creating tenant: {name}", () => client.CreateTenantAsync(created, ct), new ChangeReport { Action = ChangeReport.Create, Kind = "tenant", Key = name, Tenant = created });
        });

        var rmName = TenantArgument();
        var rm = new Command("rm", "Delete a tenant") { rmName };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var name = parse.GetValue(rmName)!;
            await ReportAsync(parse, $"Deleting tenant {name}", () => client.DeleteTenantAsync(name, ct), new ChangeReport { Action = ChangeReport.Delete, Kind = "tenant", Key = name });
        });

        var inspectName = TenantArgument();
        var inspect = new Command("inspect", "Inspect a tenant") { inspectName };
        SetAction(inspect, async (parse, client, ct) =>
            WriteJson(await client.InspectTenantAsync(parse.GetValue(inspectName)!, ct), ContivJson.Indented.TenantInspect));

        var quiet = QuietOption();
        var ls = new Command("ls", "List tenants") { quiet };
        ls.Aliases.Add("list");
        SetAction(ls, async (parse, client, ct) =>
        {
            var tenants = await client.ListTenantsAsync(ct);
            if (parse.GetValue(_json))
            {
                WriteJson(tenants, ContivJson.Indented.ListTenant);
            }
            else if (parse.GetValue(quiet))
            {
                tenants.ForEach(t => output.WriteLine(t.TenantName));
            }
            else
            {
                var rows = new List<IReadOnlyList<string>> { new[] { "Name" }, new[] { "------" } };
                rows.AddRange(tenants.Select(t => new[] { t.TenantName }));
                output.Write(TableWriter.Render(rows));
            }
        });

        tenant.Subcommands.Add(create);
        tenant.Subcommands.Add(rm);
        tenant.Subcommands.Add(inspect);
        tenant.Subcommands.Add(ls);
        return tenant;
    }

    // ---- network ---------------------------------------------------------------------------------

    private Command NetworkCommand()
    {
        var network = new Command("net", "Network operations");
        network.Aliases.Add("network");

        var name = new Argument<string>("NETWORK");
        var tenant = TenantOption();
        var subnet = new Option<string?>("--subnet", "-s") { Description = "IPv4 subnet in CIDR notation (or a range such as 10.1.1.10-20/24)" };
        var gateway = new Option<string?>("--gateway", "-g") { Description = "IPv4 gateway" };
        var subnetV6 = new Option<string?>("--subnetv6", "-s6") { Description = "IPv6 subnet in CIDR notation" };
        var gatewayV6 = new Option<string?>("--gatewayv6", "-g6") { Description = "IPv6 gateway" };
        var encap = new Option<string>("--encap", "-e") { Description = "encapsulation: vxlan or vlan", DefaultValueFactory = _ => "vxlan" };
        encap.CompletionSources.Add("vxlan", "vlan");
        var pktTag = new Option<int>("--pkt-tag", "-p") { Description = "VLAN id or VXLAN VNI (0: allocate one)" };
        var nwType = new Option<string>("--nw-type", "-n") { Description = "network type: data or infra", DefaultValueFactory = _ => "data" };
        nwType.CompletionSources.Add("data", "infra");
        var nwTag = new Option<string?>("--nw-tag", "--tag") { Description = "network tag (defaults to NETWORK.TENANT)" };
        var create = new Command("create", "Create a network") { name, tenant, subnet, gateway, subnetV6, gatewayV6, encap, pktTag, nwType, nwTag };
        SetAction(create, async (parse, client, ct) =>
        {
            var net = new Network
            {
                TenantName = parse.GetValue(tenant)!,
                NetworkName = parse.GetValue(name)!,
                Subnet = parse.GetValue(subnet),
                Gateway = parse.GetValue(gateway),
                Ipv6Subnet = parse.GetValue(subnetV6),
                Ipv6Gateway = parse.GetValue(gatewayV6),
                Encap = parse.GetValue(encap),
                PktTag = parse.GetValue(pktTag),
                NwType = parse.GetValue(nwType),
                CfgdTag = parse.GetValue(nwTag),
            };

            // Checked here too so obvious mistakes never reach the server (Contiv does the same).
            NetworkRules.Normalize(net);
            var key = $"{net.TenantName}:{net.NetworkName}";
            await ReportAsync(parse, $"Creating network {key}", () => client.CreateNetworkAsync(net, ct), new ChangeReport { Action = ChangeReport.Create, Kind = "network", Key = key, Network = net });
        });

        var rmTenant = TenantOption();
        var rmName = NetworkArgument(rmTenant);
        var rm = new Command("rm", "Delete a network") { rmName, rmTenant };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var (t, n) = (parse.GetValue(rmTenant)!, parse.GetValue(rmName)!);
            await ReportAsync(parse, $"Deleting network {t}:{n}", () => client.DeleteNetworkAsync(t, n, ct), new ChangeReport { Action = ChangeReport.Delete, Kind = "network", Key = $"{t}:{n}" });
        });

        var inspectTenant = TenantOption();
        var inspectName = NetworkArgument(inspectTenant);
        var inspect = new Command("inspect", "Inspect a network") { inspectName, inspectTenant };
        SetAction(inspect, async (parse, client, ct) =>
            WriteJson(await client.InspectNetworkAsync(parse.GetValue(inspectTenant)!, parse.GetValue(inspectName)!, ct), ContivJson.Indented.NetworkInspect));

        var lsTenant = TenantOption();
        var all = new Option<bool>("--all", "-a") { Description = "list networks of every tenant" };
        var quiet = QuietOption();
        var ls = new Command("ls", "List networks") { lsTenant, all, quiet };
        ls.Aliases.Add("list");
        SetAction(ls, async (parse, client, ct) =>
        {
            var networks = await client.ListNetworksAsync(ct);
            if (!parse.GetValue(all))
            {
                // Asked by name, so a tenant-scoped token gets "forbidden" for another tenant, not "does not exist".
                var t = parse.GetValue(lsTenant)!;
                await client.GetTenantAsync(t, ct);
                networks = [.. networks.Where(n => n.TenantName == t)];
            }

            if (parse.GetValue(_json))
            {
                WriteJson(networks, ContivJson.Indented.ListNetwork);
            }
            else if (parse.GetValue(quiet))
            {
                networks.ForEach(n => output.WriteLine(n.NetworkName));
            }
            else
            {
                output.Write(NetworkTable(networks));
            }
        });

        network.Subcommands.Add(create);
        network.Subcommands.Add(rm);
        network.Subcommands.Add(inspect);
        network.Subcommands.Add(ls);
        return network;
    }

    /// <summary>The `net ls` table with Contiv's headers and its fixed underline strings.</summary>
    public static string NetworkTable(IEnumerable<Network> networks)
    {
        var rows = new List<IReadOnlyList<string>>
        {
            new[] { "Tenant", "Network", "Nw Type", "Encap type", "Packet tag", "Subnet", "Gateway", "IPv6Subnet", "IPv6Gateway", "Cfgd Tag" },
            new[] { "------", "-------", "-------", "----------", "----------", "-------", "------", "----------", "-----------", "---------" },
        };
        rows.AddRange(networks.Select(n => new[]
        {
            n.TenantName, n.NetworkName, n.NwType ?? string.Empty, n.Encap ?? string.Empty, NetworkRules.Format(n.PktTag),
            n.Subnet ?? string.Empty, n.Gateway ?? string.Empty, n.Ipv6Subnet ?? string.Empty, n.Ipv6Gateway ?? string.Empty, n.CfgdTag ?? string.Empty,
        }));
        return TableWriter.Render(rows);
    }

    // ---- global ----------------------------------------------------------------------------------

    private Command GlobalCommand()
    {
        var global = new Command("global", "Global settings");

        var fabric = new Option<string?>("--fabric-mode", "-f") { Description = "fabric mode: default, aci or aci-opflex" };
        fabric.CompletionSources.Add("default", "aci", "aci-opflex");
        var vlans = new Option<string?>("--vlan-range", "-v") { Description = "allowed VLAN ids, e.g. 1-4094" };
        var vxlans = new Option<string?>("--vxlan-range", "-x") { Description = "allowed VXLAN VNIs, e.g. 1-10000" };
        var fwd = new Option<string?>("--fwd-mode", "-b") { Description = "forwarding mode: bridge or routing" };
        fwd.CompletionSources.Add("bridge", "routing");
        var arp = new Option<string?>("--arp-mode", "-a") { Description = "ARP mode: proxy or flood" };
        arp.CompletionSources.Add("proxy", "flood");
        var pvt = new Option<string?>("--private-subnet", "-s") { Description = "private subnet for host access, e.g. 172.19.0.0/16" };
        var set = new Command("set", "Change global settings (only the flags given)") { fabric, vlans, vxlans, fwd, arp, pvt };
        SetAction(set, async (parse, client, ct) =>
        {
            var current = await client.GetGlobalAsync(ct);
            current.NetworkInfraType = parse.GetValue(fabric) ?? current.NetworkInfraType;
            current.Vlans = parse.GetValue(vlans) ?? current.Vlans;
            current.Vxlans = parse.GetValue(vxlans) ?? current.Vxlans;
            current.FwdMode = parse.GetValue(fwd) ?? current.FwdMode;
            current.ArpMode = parse.GetValue(arp) ?? current.ArpMode;
            current.PvtSubnet = parse.GetValue(pvt) ?? current.PvtSubnet;
            current.Key ??= "global";

            // Contiv prints nothing here; --json shows the settings now in force.
            await ReportAsync(parse, null, () => client.SetGlobalAsync(current, ct), new ChangeReport { Action = ChangeReport.Set, Kind = "global", Key = "global", Global = current });
        });

        var inspect = new Command("inspect", "Inspect global settings");
        SetAction(inspect, async (parse, client, ct) => WriteJson(await client.InspectGlobalAsync(ct), ContivJson.Indented.GlobalInspect));

        var info = new Command("info", "Show global settings");
        SetAction(info, async (parse, client, ct) =>
        {
            var g = await client.GetGlobalAsync(ct);
            if (parse.GetValue(_json))
            {
                // Contiv's object carries its key (as `global inspect`'s Config does); netmaster's GET may leave it out.
                g.Key ??= "global";
                WriteJson(g, ContivJson.Indented.GlobalSettings);
                return;
            }

            output.Write($"Fabric mode: {g.NetworkInfraType}\nForward mode: {g.FwdMode}\nARP mode: {g.ArpMode}\nVlan Range: {g.Vlans}\nVxlan range: {g.Vxlans}\nPrivate subnet: {g.PvtSubnet}\n");
        });

        global.Subcommands.Add(set);
        global.Subcommands.Add(inspect);
        global.Subcommands.Add(info);
        return global;
    }

    // ---- endpoint --------------------------------------------------------------------------------

    /// <summary>
    /// Hosts running netplugin. `host rm` is the explicit rule for a host that disappeared: it
    /// reclaims the host's endpoints and addresses, and refuses while the host may still be alive.
    /// </summary>
    private Command HostCommand()
    {
        var host = new Command("host", "Hosts running netplugin");
        var ls = new Command("ls", "List hosts with their VTEP, last heartbeat and state");
        ls.Aliases.Add("list");
        SetAction(ls, async (parse, client, ct) =>
        {
            var hosts = await client.ListHostsAsync(ct);
            if (parse.GetValue(_json))
            {
                WriteJson(hosts, ContivJson.Indented.ListHostStatus);
                return;
            }

            var rows = new List<IReadOnlyList<string>>
            {
                new[] { "Host", "VTEP IP", "Last Seen", "State", "Endpoints" },
                new[] { "----", "-------", "---------", "-----", "---------" },
            };
            rows.AddRange(hosts.Select(h => new[]
            {
                h.Name, h.VtepIp ?? string.Empty, h.LastSeen.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture), h.State, NetworkRules.Format(h.Endpoints),
            }));
            output.Write(TableWriter.Render(rows));
        });

        var name = new Argument<string>("HOST") { HelpName = "HOST" };
        name.CompletionSources.Add(RemoteNames(async (client, _, ct) => (await client.ListHostsAsync(ct)).Select(h => h.Name)));
        var force = new Option<bool>("--force") { Description = "reclaim even if the host sent a heartbeat recently (only if you know it is gone)" };
        var rm = new Command("rm", "Reclaim the endpoints and addresses of a host that is gone") { name, force };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var host = parse.GetValue(name)!;
            var removed = await client.RemoveHostAsync(host, parse.GetValue(force), ct);
            if (parse.GetValue(_json))
            {
                WriteJson(new ChangeReport { Action = ChangeReport.Delete, Kind = "host", Key = host, ReclaimedEndpoints = removed.ReclaimedEndpoints }, NetCtlJson.Default.ChangeReport);
                return;
            }

            output.WriteLine($"Removed host {host}: reclaimed {removed.ReclaimedEndpoints} endpoint(s)");
        });

        host.Subcommands.Add(ls);
        host.Subcommands.Add(rm);
        return host;
    }

    private Command EndpointCommand()
    {
        var endpoint = new Command("endpoint", "Endpoint operations");
        endpoint.Aliases.Add("ep");
        var id = new Argument<string>("ENDPOINT-ID");
        var inspect = new Command("inspect", "Inspect an endpoint by its Docker endpoint id (or a unique prefix)") { id };
        // Endpoint ids are not completed: netmaster has no endpoint listing (they are spread over each network's inspect).
        SetAction(inspect, async (parse, client, ct) => WriteJson(await client.InspectEndpointAsync(parse.GetValue(id)!, ct), ContivJson.Indented.EndpointInspect));
        endpoint.Subcommands.Add(inspect);
        return endpoint;
    }
}
