using System.CommandLine;
using System.Globalization;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>Contiv's policy commands: <c>group</c>, <c>policy</c> (with its rules) and <c>netprofile</c>.</summary>
public sealed partial class NetCtlCommands
{
    // ---- group -----------------------------------------------------------------------------------

    private Command GroupCommand()
    {
        var group = new Command("group", "Endpoint group operations");

        var createTenant = TenantOption();
        var network = NetworkArgument(createTenant);
        var createName = new Argument<string>("GROUP");
        var policies = PoliciesOption(createTenant);
        var profile = NetProfileOption(createTenant);
        var ipPool = new Option<string?>("--ip-pool", "-r") { Description = "addresses the group's containers get, a range inside the network's subnet: a.b.c.d-a.b.c.e" };
        var tag = new Option<string?>("--tag") { Description = "configured tag of the group" };
        var create = new Command("create", "Create an endpoint group on a network") { network, createName, createTenant, policies, profile, ipPool, tag };
        SetAction(create, async (parse, client, ct) =>
        {
            var created = new EndpointGroupConfig
            {
                TenantName = parse.GetValue(createTenant)!,
                NetworkName = parse.GetValue(network)!,
                GroupName = parse.GetValue(createName)!,
                Policies = NonEmpty(parse.GetValue(policies)),
                NetProfile = NonEmpty(parse.GetValue(profile)),
                IpPool = NonEmpty(parse.GetValue(ipPool)),
                CfgdTag = NonEmpty(parse.GetValue(tag)),
            };
            created.Key = $"{created.TenantName}:{created.GroupName}";
            await ReportAsync(parse, $"Creating EndpointGroup {created.Key}", () => client.CreateGroupAsync(created, ct),
                new ChangeReport { Action = ChangeReport.Create, Kind = "endpointGroup", Key = created.Key, EndpointGroup = created });
        });

        var updateTenant = TenantOption();
        var updateName = GroupArgument(updateTenant);
        var updatePolicies = PoliciesOption(updateTenant);
        updatePolicies.Description = "policies attached to the group, replacing the current ones (-p '' detaches all); not given: unchanged";
        var updateProfile = NetProfileOption(updateTenant);
        updateProfile.Description = "network profile, replacing the current one (-n '' removes it); not given: unchanged";
        var update = new Command("update", "Attach or detach policies and the network profile of a group") { updateName, updateTenant, updatePolicies, updateProfile };
        SetAction(update, async (parse, client, ct) =>
        {
            var current = await client.GetGroupAsync(parse.GetValue(updateTenant)!, parse.GetValue(updateName)!, ct);
            if (parse.GetResult(updatePolicies) is not null)
            {
                current.Policies = NonEmpty(parse.GetValue(updatePolicies)) ?? [];
            }

            if (parse.GetResult(updateProfile) is not null)
            {
                current.NetProfile = parse.GetValue(updateProfile) ?? string.Empty;
            }

            var key = $"{current.TenantName}:{current.GroupName}";
            await ReportAsync(parse, $"Updating EndpointGroup {key}", () => client.UpdateGroupAsync(current, ct),
                new ChangeReport { Action = ChangeReport.Update, Kind = "endpointGroup", Key = key, EndpointGroup = current });
        });

        var rmTenant = TenantOption();
        var rmName = GroupArgument(rmTenant);
        var rm = new Command("rm", "Delete an endpoint group") { rmName, rmTenant };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var key = $"{parse.GetValue(rmTenant)}:{parse.GetValue(rmName)}";
            await ReportAsync(parse, $"Deleting EndpointGroup {key}", () => client.DeleteGroupAsync(parse.GetValue(rmTenant)!, parse.GetValue(rmName)!, ct),
                new ChangeReport { Action = ChangeReport.Delete, Kind = "endpointGroup", Key = key });
        });

        var inspectTenant = TenantOption();
        var inspectName = GroupArgument(inspectTenant);
        var inspect = new Command("inspect", "Inspect an endpoint group") { inspectName, inspectTenant };
        SetAction(inspect, async (parse, client, ct) =>
            WriteJson(await client.InspectGroupAsync(parse.GetValue(inspectTenant)!, parse.GetValue(inspectName)!, ct), ContivJson.Indented.EndpointGroupInspect));

        var (ls, lsTenant, all, quiet) = ListCommand("List endpoint groups");
        SetAction(ls, async (parse, client, ct) =>
        {
            var groups = await FilterAsync(parse, client, lsTenant, all, await client.ListGroupsAsync(ct), g => g.TenantName, ct);
            if (parse.GetValue(_json))
            {
                WriteJson(groups, ContivJson.Indented.ListEndpointGroupConfig);
            }
            else if (parse.GetValue(quiet))
            {
                groups.ForEach(g => output.WriteLine(g.GroupName));
            }
            else
            {
                output.Write(GroupTable(groups));
            }
        });

        group.Subcommands.Add(create);
        group.Subcommands.Add(update);
        group.Subcommands.Add(rm);
        group.Subcommands.Add(inspect);
        group.Subcommands.Add(ls);
        return group;
    }

    /// <summary>The `group ls` table, Contiv's columns; policies comma-joined.</summary>
    public static string GroupTable(IEnumerable<EndpointGroupConfig> groups) => Table(
        ["Tenant", "Group", "Network", "IP Pool", "CfgdTag", "Policies", "Network profile"],
        groups.Select(g => new[] { g.TenantName, g.GroupName, g.NetworkName, g.IpPool ?? string.Empty, g.CfgdTag ?? string.Empty, string.Join(",", g.Policies ?? []), g.NetProfile ?? string.Empty }));

    // ---- policy ----------------------------------------------------------------------------------

    private Command PolicyCommand()
    {
        var policy = new Command("policy", "Policy operations");

        var createTenant = TenantOption();
        var createName = new Argument<string>("POLICY");
        var create = new Command("create", "Create a policy") { createName, createTenant };
        SetAction(create, async (parse, client, ct) =>
        {
            var created = new PolicyConfig { TenantName = parse.GetValue(createTenant)!, PolicyName = parse.GetValue(createName)! };
            created.Key = $"{created.TenantName}:{created.PolicyName}";
            await ReportAsync(parse, $"Creating policy {created.Key}", () => client.CreatePolicyAsync(created, ct),
                new ChangeReport { Action = ChangeReport.Create, Kind = "policy", Key = created.Key, Policy = created });
        });

        var rmTenant = TenantOption();
        var rmName = PolicyArgument(rmTenant);
        var rm = new Command("rm", "Delete a policy") { rmName, rmTenant };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var key = $"{parse.GetValue(rmTenant)}:{parse.GetValue(rmName)}";
            await ReportAsync(parse, $"Deleting policy {key}", () => client.DeletePolicyAsync(parse.GetValue(rmTenant)!, parse.GetValue(rmName)!, ct),
                new ChangeReport { Action = ChangeReport.Delete, Kind = "policy", Key = key });
        });

        var inspectTenant = TenantOption();
        var inspectName = PolicyArgument(inspectTenant);
        var inspect = new Command("inspect", "Inspect a policy") { inspectName, inspectTenant };
        SetAction(inspect, async (parse, client, ct) =>
            WriteJson(await client.InspectPolicyAsync(parse.GetValue(inspectTenant)!, parse.GetValue(inspectName)!, ct), ContivJson.Indented.PolicyInspect));

        var (ls, lsTenant, all, quiet) = ListCommand("List policies");
        SetAction(ls, async (parse, client, ct) =>
        {
            var policies = await FilterAsync(parse, client, lsTenant, all, await client.ListPoliciesAsync(ct), p => p.TenantName, ct);
            if (parse.GetValue(_json))
            {
                WriteJson(policies, ContivJson.Indented.ListPolicyConfig);
            }
            else if (parse.GetValue(quiet))
            {
                policies.ForEach(p => output.WriteLine(p.PolicyName));
            }
            else
            {
                output.Write(Table(["Tenant", "Policy"], policies.Select(p => new[] { p.TenantName, p.PolicyName })));
            }
        });

        policy.Subcommands.Add(create);
        policy.Subcommands.Add(rm);
        policy.Subcommands.Add(inspect);
        policy.Subcommands.Add(ls);
        policy.Subcommands.Add(RuleAddCommand());
        policy.Subcommands.Add(RuleRmCommand());
        policy.Subcommands.Add(RuleLsCommand());
        return policy;
    }

    private Command RuleAddCommand()
    {
        var tenant = TenantOption();
        var policy = PolicyArgument(tenant);
        var ruleId = new Argument<string>("RULEID");
        var priority = new Option<int>("--priority", "-p") { Description = "priority 1..100, higher wins", DefaultValueFactory = _ => 1 };
        var direction = new Option<string>("--direction", "-d") { Description = "in: traffic to the group's endpoints; out: traffic from them", DefaultValueFactory = _ => "in" };
        direction.CompletionSources.Add("in", "out");
        var fromGroup = GroupOption("--from-group", "-g", "endpoint group the traffic comes from (in rules)", tenant);
        var toGroup = GroupOption("--to-group", "-e", "endpoint group the traffic goes to (out rules)", tenant);
        var fromNetwork = NetworkOption("--from-network", "-n", "network the traffic comes from (in rules)", tenant);
        var toNetwork = NetworkOption("--to-network", "-o", "network the traffic goes to (out rules)", tenant);
        var fromIp = new Option<string?>("--from-ip-address", "-i") { Description = "address or CIDR the traffic comes from (in rules)" };
        var toIp = new Option<string?>("--to-ip-address", "-s") { Description = "address or CIDR the traffic goes to (out rules)" };
        var protocol = new Option<string?>("--protocol", "-l") { Description = "tcp, udp, icmp or a protocol number 0-255 (default: any)" };
        protocol.CompletionSources.Add("tcp", "udp", "icmp");
        var port = new Option<int>("--port", "-P") { Description = "destination port 1..65535 (tcp or udp; default 0: any)" };

        // -j is Contiv's action flag here; it shadows the global -j (--json still works).
        var action = new Option<string>("--action", "-j") { Description = "allow or deny", DefaultValueFactory = _ => "allow" };
        action.CompletionSources.Add("allow", "deny");
        var command = new Command("rule-add", "Add a rule to a policy")
        {
            policy, ruleId, tenant, priority, direction, fromGroup, toGroup, fromNetwork, toNetwork, fromIp, toIp, protocol, port, action,
        };
        SetAction(command, async (parse, client, ct) =>
        {
            var rule = new RuleObject
            {
                TenantName = parse.GetValue(tenant)!,
                PolicyName = parse.GetValue(policy)!,
                RuleId = parse.GetValue(ruleId)!,
                Priority = parse.GetValue(priority),
                Direction = parse.GetValue(direction),
                FromEndpointGroup = NonEmpty(parse.GetValue(fromGroup)),
                ToEndpointGroup = NonEmpty(parse.GetValue(toGroup)),
                FromNetwork = NonEmpty(parse.GetValue(fromNetwork)),
                ToNetwork = NonEmpty(parse.GetValue(toNetwork)),
                FromIpAddress = NonEmpty(parse.GetValue(fromIp)),
                ToIpAddress = NonEmpty(parse.GetValue(toIp)),
                Protocol = NonEmpty(parse.GetValue(protocol)),
                Port = parse.GetValue(port),
                Action = parse.GetValue(action),
            };
            rule.Key = $"{rule.TenantName}:{rule.PolicyName}:{rule.RuleId}";

            // Contiv prints nothing on success; --json reports the rule.
            await ReportAsync(parse, null, () => client.AddRuleAsync(rule, ct), new ChangeReport { Action = ChangeReport.Create, Kind = "rule", Key = rule.Key, Rule = rule });
        });
        return command;
    }

    private Command RuleRmCommand()
    {
        var tenant = TenantOption();
        var policy = PolicyArgument(tenant);
        var ruleId = new Argument<string>("RULEID");
        ruleId.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListRulesAsync(parse.GetValue(tenant) ?? Names.DefaultTenant, parse.GetValue(policy) ?? string.Empty, ct)).Select(r => r.RuleId)));
        var command = new Command("rule-rm", "Remove a rule from a policy") { policy, ruleId, tenant };
        command.Aliases.Add("rule-delete");
        SetAction(command, async (parse, client, ct) =>
        {
            var (t, p, r) = (parse.GetValue(tenant)!, parse.GetValue(policy)!, parse.GetValue(ruleId)!);
            await ReportAsync(parse, null, () => client.DeleteRuleAsync(t, p, r, ct), new ChangeReport { Action = ChangeReport.Delete, Kind = "rule", Key = $"{t}:{p}:{r}" });
        });
        return command;
    }

    private Command RuleLsCommand()
    {
        var tenant = TenantOption();
        var policy = PolicyArgument(tenant);
        var command = new Command("rule-ls", "List the rules of a policy") { policy, tenant };
        command.Aliases.Add("rule-list");
        SetAction(command, async (parse, client, ct) =>
        {
            var (t, p) = (parse.GetValue(tenant)!, parse.GetValue(policy)!);

            // Asked by name first, so an unknown policy is an error rather than an empty list.
            await client.InspectPolicyAsync(t, p, ct);
            var rules = await client.ListRulesAsync(t, p, ct);
            if (parse.GetValue(_json))
            {
                WriteJson(rules, ContivJson.Indented.ListRuleObject);
                return;
            }

            output.Write(RuleTable(rules));
        });
        return command;
    }

    /// <summary>
    /// `policy rule-ls` as Contiv prints it: "Incoming Rules:" with the from-columns, then
    /// "Outgoing Rules:" with the to-columns (a direction has only one side), port 0 meaning any.
    /// </summary>
    public static string RuleTable(IEnumerable<RuleObject> rules)
    {
        string Section(string title, string side, IEnumerable<RuleObject> section, Func<RuleObject, (string? Group, string? Network, string? Ip)> peer) => title + "\n" + Table(
            ["Rule", "Priority", $"{side} EndpointGroup", $"{side} Network", $"{side} IpAddress", "Protocol", "Port", "Action"],
            section.Select(r =>
            {
                var (group, network, ip) = peer(r);
                return new[]
                {
                    r.RuleId, r.Priority.ToString(CultureInfo.InvariantCulture), group ?? string.Empty, network ?? string.Empty, ip ?? string.Empty,
                    r.Protocol ?? string.Empty, r.Port.ToString(CultureInfo.InvariantCulture), r.Action ?? string.Empty,
                };
            }));

        var list = rules.ToList();
        return Section("Incoming Rules:", "From", list.Where(r => r.Direction != "out"), r => (r.FromEndpointGroup, r.FromNetwork, r.FromIpAddress))
            + Section("Outgoing Rules:", "To", list.Where(r => r.Direction == "out"), r => (r.ToEndpointGroup, r.ToNetwork, r.ToIpAddress));
    }

    // ---- netprofile ------------------------------------------------------------------------------

    private Command NetProfileCommand()
    {
        var netprofile = new Command("netprofile", "Network profile (bandwidth, DSCP) operations");

        Command Change(string name, string description, bool create)
        {
            var tenant = TenantOption();
            var profile = new Argument<string>("NAME");
            if (!create)
            {
                profile.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
                    (await client.ListNetProfilesAsync(ct)).Where(p => p.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(p => p.ProfileName)));
            }

            var bandwidth = new Option<string?>("--bandwidth", "-b") { Description = "rate, e.g. 10 mbps, 500 kbps, 1 gbps" };
            var dscp = new Option<int?>("--dscp", "-d") { Description = "DSCP mark 0..63" };
            var burst = new Option<int?>("--burst", "-s") { Description = "burst size in KB" };
            var command = new Command(name, description) { profile, tenant, bandwidth, dscp, burst };
            SetAction(command, async (parse, client, ct) =>
            {
                var (t, n) = (parse.GetValue(tenant)!, parse.GetValue(profile)!);
                var config = create ? new NetProfileConfig { TenantName = t, ProfileName = n } : await client.GetNetProfileAsync(t, n, ct);
                config.Key = $"{t}:{n}";
                config.Bandwidth = parse.GetValue(bandwidth) ?? config.Bandwidth;
                config.Dscp = parse.GetValue(dscp) ?? config.Dscp;
                config.Burst = parse.GetValue(burst) ?? config.Burst;
                await ReportAsync(
                    parse,
                    $"{(create ? "Creating" : "Updating")} netprofile {config.Key}",
                    () => create ? client.CreateNetProfileAsync(config, ct) : client.UpdateNetProfileAsync(config, ct),
                    new ChangeReport { Action = create ? ChangeReport.Create : ChangeReport.Update, Kind = "netprofile", Key = config.Key, NetProfile = config });
            });
            return command;
        }

        var rmTenant = TenantOption();
        var rmName = NetProfileArgument(rmTenant);
        var rm = new Command("rm", "Delete a network profile") { rmName, rmTenant };
        rm.Aliases.Add("delete");
        SetAction(rm, async (parse, client, ct) =>
        {
            var key = $"{parse.GetValue(rmTenant)}:{parse.GetValue(rmName)}";
            await ReportAsync(parse, $"Deleting netprofile {key}", () => client.DeleteNetProfileAsync(parse.GetValue(rmTenant)!, parse.GetValue(rmName)!, ct),
                new ChangeReport { Action = ChangeReport.Delete, Kind = "netprofile", Key = key });
        });

        var inspectTenant = TenantOption();
        var inspectName = NetProfileArgument(inspectTenant);
        var inspect = new Command("inspect", "Inspect a network profile") { inspectName, inspectTenant };
        SetAction(inspect, async (parse, client, ct) =>
            WriteJson(await client.InspectNetProfileAsync(parse.GetValue(inspectTenant)!, parse.GetValue(inspectName)!, ct), ContivJson.Indented.NetProfileInspect));

        var (ls, lsTenant, all, quiet) = ListCommand("List network profiles");
        SetAction(ls, async (parse, client, ct) =>
        {
            var profiles = await FilterAsync(parse, client, lsTenant, all, await client.ListNetProfilesAsync(ct), p => p.TenantName, ct);
            if (parse.GetValue(_json))
            {
                WriteJson(profiles, ContivJson.Indented.ListNetProfileConfig);
            }
            else if (parse.GetValue(quiet))
            {
                profiles.ForEach(p => output.WriteLine(p.ProfileName));
            }
            else
            {
                output.Write(Table(
                    ["Name", "Tenant", "Bandwidth", "DSCP", "Burst size"],
                    profiles.Select(p => new[] { p.ProfileName, p.TenantName, p.Bandwidth ?? string.Empty, Number(p.Dscp), Number(p.Burst) })));
            }
        });

        netprofile.Subcommands.Add(Change("create", "Create a network profile", create: true));
        netprofile.Subcommands.Add(Change("update", "Change a network profile (only the flags given)", create: false));
        netprofile.Subcommands.Add(rm);
        netprofile.Subcommands.Add(inspect);
        netprofile.Subcommands.Add(ls);
        return netprofile;
    }

    // ---- shared ----------------------------------------------------------------------------------

    /// <summary>An `ls` command with -t, -a and -q.</summary>
    private (Command Command, Option<string> Tenant, Option<bool> All, Option<bool> Quiet) ListCommand(string description)
    {
        var tenant = TenantOption();
        var all = new Option<bool>("--all", "-a") { Description = "list those of every tenant" };
        var quiet = QuietOption();
        var command = new Command("ls", description) { tenant, all, quiet };
        command.Aliases.Add("list");
        return (command, tenant, all, quiet);
    }

    /// <summary>Without -a, the objects of -t only; that tenant is asked for by name (so an unknown or forbidden tenant is an error, as in `net ls`).</summary>
    private static async Task<List<T>> FilterAsync<T>(ParseResult parse, NetmasterClient client, Option<string> tenant, Option<bool> all, List<T> items, Func<T, string> tenantOf, CancellationToken ct)
    {
        if (parse.GetValue(all))
        {
            return items;
        }

        var t = parse.GetValue(tenant)!;
        await client.GetTenantAsync(t, ct);
        return [.. items.Where(i => tenantOf(i) == t)];
    }

    /// <summary>A table with a dashed underline as long as each header, as Contiv's netctl prints them.</summary>
    private static string Table(string[] headers, IEnumerable<string[]> rows)
    {
        var all = new List<IReadOnlyList<string>> { headers, headers.Select(h => new string('-', h.Length)).ToArray() };
        all.AddRange(rows);
        return TableWriter.Render(all);
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static List<string>? NonEmpty(string[]? values)
    {
        var list = values?.SelectMany(v => v.Split(',')).Select(v => v.Trim()).Where(v => v.Length > 0).ToList();
        return list is { Count: > 0 } ? list : null;
    }

    private Option<string[]> PoliciesOption(Option<string> tenant)
    {
        var option = new Option<string[]>("--policy", "-p") { Description = "policy to attach (repeat for several)", AllowMultipleArgumentsPerToken = false };
        option.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListPoliciesAsync(ct)).Where(p => p.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(p => p.PolicyName)));
        return option;
    }

    private Option<string?> NetProfileOption(Option<string> tenant)
    {
        var option = new Option<string?>("--networkprofile", "-n") { Description = "network profile (bandwidth, DSCP) of the group" };
        option.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListNetProfilesAsync(ct)).Where(p => p.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(p => p.ProfileName)));
        return option;
    }

    private Option<string?> GroupOption(string name, string alias, string description, Option<string> tenant)
    {
        var option = new Option<string?>(name, alias) { Description = description };
        option.CompletionSources.Add(RemoteNames(async (client, parse, ct) => await GroupNamesAsync(client, parse.GetValue(tenant), ct)));
        return option;
    }

    private Option<string?> NetworkOption(string name, string alias, string description, Option<string> tenant)
    {
        var option = new Option<string?>(name, alias) { Description = description };
        option.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListNetworksAsync(ct)).Where(n => n.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(n => n.NetworkName)));
        return option;
    }

    private Argument<string> GroupArgument(Option<string> tenant)
    {
        var argument = new Argument<string>("GROUP") { HelpName = "GROUP" };
        argument.CompletionSources.Add(RemoteNames(async (client, parse, ct) => await GroupNamesAsync(client, parse.GetValue(tenant), ct)));
        return argument;
    }

    private Argument<string> PolicyArgument(Option<string> tenant)
    {
        var argument = new Argument<string>("POLICY") { HelpName = "POLICY" };
        argument.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListPoliciesAsync(ct)).Where(p => p.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(p => p.PolicyName)));
        return argument;
    }

    private Argument<string> NetProfileArgument(Option<string> tenant)
    {
        var argument = new Argument<string>("NAME") { HelpName = "NAME" };
        argument.CompletionSources.Add(RemoteNames(async (client, parse, ct) =>
            (await client.ListNetProfilesAsync(ct)).Where(p => p.TenantName == (parse.GetValue(tenant) ?? Names.DefaultTenant)).Select(p => p.ProfileName)));
        return argument;
    }

    private static async Task<IEnumerable<string>> GroupNamesAsync(NetmasterClient client, string? tenant, CancellationToken ct) =>
        (await client.ListGroupsAsync(ct)).Where(g => g.TenantName == (tenant ?? Names.DefaultTenant)).Select(g => g.GroupName);
}
