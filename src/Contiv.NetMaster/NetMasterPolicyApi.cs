using Contiv.ControlPlane;
using Contiv.Model;

namespace Contiv.NetMaster;

/// <summary>
/// The policy objects' REST API on Contiv's paths: <c>/api/v1/endpointGroups/{tenant}:{group}/</c>,
/// <c>/api/v1/policys/{tenant}:{policy}/</c> (Contiv's spelling), <c>/api/v1/rules/{tenant}:{policy}:{ruleId}/</c>,
/// <c>/api/v1/netprofiles/{tenant}:{name}/</c> and their inspect paths. Tenant scoping as in
/// <see cref="NetMasterApi"/>: a scoped caller's lists hold only its tenant and a path naming
/// another tenant is 403 before the store is read.
/// </summary>
public static class NetMasterPolicyApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        MapGroups(api);
        MapPolicies(api);
        MapRules(api);
        MapNetProfiles(api);
    }

    private static void MapGroups(RouteGroupBuilder api)
    {
        api.MapGet("/endpointGroups/", async (string? tenant, Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListGroupsAsync(ListTenant(tenant, caller), ct)).Where(g => caller.CanSee(g.TenantName)).ToList()));
        api.MapGet("/endpointGroups/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "endpoint group", "GROUP");
            return Results.Ok(await control.GetGroupAsync(tenant, name, ct));
        });
        api.MapPost("/endpointGroups/{key}/", async (string key, EndpointGroupConfig body, Caller caller, ContivControl control, NetMasterOptions options, ILogger<NetMasterOptions> logger, CancellationToken ct) =>
        {
            (body.TenantName, body.GroupName) = FillKey(key, caller, "endpoint group", "GROUP", body.TenantName, body.GroupName);

            // contivmodel's create is create-or-update: Contiv's policy tutorial attaches a policy to
            // a live group with `netctl group create -p POLICY NET GROUP` again. Network and ipPool
            // of an existing group still cannot change (UpdateGroupAsync refuses).
            if (await control.FindGroupAsync(body.TenantName, body.GroupName, ct) is not null)
            {
                return Results.Ok(await control.UpdateGroupAsync(body, ct));
            }

            var created = await control.CreateGroupAsync(body, ct);
            await DockerNetworkWait.ForAsync(control, options, logger, Names.NetworkId(created.TenantName, created.NetworkName), created.GroupName, ct);
            return Results.Ok(created);
        });
        api.MapPut("/endpointGroups/{key}/", async (string key, EndpointGroupConfig body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            (body.TenantName, body.GroupName) = FillKey(key, caller, "endpoint group", "GROUP", body.TenantName, body.GroupName);
            return Results.Ok(await control.UpdateGroupAsync(body, ct));
        });
        api.MapDelete("/endpointGroups/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "endpoint group", "GROUP");
            await control.DeleteGroupAsync(tenant, name, ct);
            return Results.Ok();
        });
        api.MapGet("/inspect/endpointGroups/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "endpoint group", "GROUP");
            return Results.Ok(await control.InspectGroupAsync(tenant, name, ct));
        });
    }

    private static void MapPolicies(RouteGroupBuilder api)
    {
        api.MapGet("/policys/", async (string? tenant, Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListPoliciesAsync(ListTenant(tenant, caller), ct)).Where(p => caller.CanSee(p.TenantName)).ToList()));
        api.MapGet("/policys/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "policy", "POLICY");
            return Results.Ok(await control.GetPolicyAsync(tenant, name, ct));
        });
        api.MapPost("/policys/{key}/", async (string key, PolicyConfig body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            (body.TenantName, body.PolicyName) = FillKey(key, caller, "policy", "POLICY", body.TenantName, body.PolicyName);
            return Results.Ok(await control.CreatePolicyAsync(body, ct));
        });
        api.MapDelete("/policys/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "policy", "POLICY");
            await control.DeletePolicyAsync(tenant, name, ct);
            return Results.Ok();
        });
        api.MapGet("/inspect/policys/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "policy", "POLICY");
            return Results.Ok(await control.InspectPolicyAsync(tenant, name, ct));
        });
    }

    private static void MapRules(RouteGroupBuilder api)
    {
        api.MapGet("/rules/", async (string? tenant, string? policy, Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListRulesAsync(ListTenant(tenant, caller), policy, ct)).Where(r => caller.CanSee(r.TenantName)).ToList()));
        api.MapGet("/rules/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, policy, ruleId) = ParseRuleKey(key, caller);
            return Results.Ok(await control.GetRuleAsync(tenant, policy, ruleId, ct));
        });
        api.MapPost("/rules/{key}/", async (string key, RuleObject body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, policy, ruleId) = ParseRuleKey(key, caller);
            body.TenantName = Given(body.TenantName) ?? tenant;
            body.PolicyName = Given(body.PolicyName) ?? policy;
            body.RuleId = Given(body.RuleId) ?? ruleId;
            EnsureSameName($"{tenant}:{policy}:{ruleId}", $"{body.TenantName}:{body.PolicyName}:{body.RuleId}", "rule");
            return Results.Ok(await control.AddRuleAsync(body, ct));
        });
        api.MapPut("/rules/{key}/", (string key, Caller caller) =>
        {
            ParseRuleKey(key, caller);
            throw ContivException.Invalid($"rules cannot be changed (rule {Decode(key)}): remove it and add it again");
        });
        api.MapDelete("/rules/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, policy, ruleId) = ParseRuleKey(key, caller);
            await control.DeleteRuleAsync(tenant, policy, ruleId, ct);
            return Results.Ok();
        });
    }

    private static void MapNetProfiles(RouteGroupBuilder api)
    {
        api.MapGet("/netprofiles/", async (string? tenant, Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListNetProfilesAsync(ListTenant(tenant, caller), ct)).Where(p => caller.CanSee(p.TenantName)).ToList()));
        api.MapGet("/netprofiles/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "netprofile", "PROFILE");
            return Results.Ok(await control.GetNetProfileAsync(tenant, name, ct));
        });
        api.MapPost("/netprofiles/{key}/", async (string key, NetProfileConfig body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            (body.TenantName, body.ProfileName) = FillKey(key, caller, "netprofile", "PROFILE", body.TenantName, body.ProfileName);

            // Create-or-update, as contivmodel does (`netctl netprofile create` again changes it).
            return Results.Ok(await control.FindNetProfileAsync(body.TenantName, body.ProfileName, ct) is not null
                ? await control.UpdateNetProfileAsync(body, ct)
                : await control.CreateNetProfileAsync(body, ct));
        });
        api.MapPut("/netprofiles/{key}/", async (string key, NetProfileConfig body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            (body.TenantName, body.ProfileName) = FillKey(key, caller, "netprofile", "PROFILE", body.TenantName, body.ProfileName);
            return Results.Ok(await control.UpdateNetProfileAsync(body, ct));
        });
        api.MapDelete("/netprofiles/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "netprofile", "PROFILE");
            await control.DeleteNetProfileAsync(tenant, name, ct);
            return Results.Ok();
        });
        api.MapGet("/inspect/netprofiles/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseKey(key, caller, "netprofile", "PROFILE");
            return Results.Ok(await control.InspectNetProfileAsync(tenant, name, ct));
        });
    }

    /// <summary>The tenant a listing covers: the one asked for (403 if not the caller's), else the caller's scope (null: all).</summary>
    private static string? ListTenant(string? tenant, Caller caller)
    {
        if (tenant is not null)
        {
            caller.EnsureTenant(tenant);
        }

        return tenant ?? caller.Tenant;
    }

    private static string Decode(string routeValue) => Uri.UnescapeDataString(routeValue);

    /// <summary>The tenant and name of a <c>tenant:name</c> path segment, 403 when the caller may not use that tenant.</summary>
    private static (string Tenant, string Name) ParseKey(string key, Caller caller, string what, string nameHelp)
    {
        var text = Decode(key);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw ContivException.Invalid($"invalid {what} key \"{text}\": expected TENANT:{nameHelp}");
        }

        var tenant = text[..colon];
        caller.EnsureTenant(tenant);
        return (tenant, text[(colon + 1)..]);
    }

    private static (string Tenant, string Policy, string RuleId) ParseRuleKey(string key, Caller caller)
    {
        var text = Decode(key);
        var parts = text.Split(':');
        if (parts.Length != 3 || parts.Any(string.IsNullOrEmpty))
        {
            throw ContivException.Invalid($"invalid rule key \"{text}\": expected TENANT:POLICY:RULEID");
        }

        caller.EnsureTenant(parts[0]);
        return (parts[0], parts[1], parts[2]);
    }

    /// <summary>The body's tenant and name, taken from the path when the body leaves them out; they must match the path.</summary>
    private static (string Tenant, string Name) FillKey(string key, Caller caller, string what, string nameHelp, string? bodyTenant, string? bodyName)
    {
        var (tenant, name) = ParseKey(key, caller, what, nameHelp);
        var filled = (Given(bodyTenant) ?? tenant, Given(bodyName) ?? name);
        EnsureSameName($"{tenant}:{name}", $"{filled.Item1}:{filled.Item2}", what);
        return filled;
    }

    private static string? Given(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static void EnsureSameName(string inPath, string inBody, string what)
    {
        if (inPath != inBody)
        {
            throw ContivException.Invalid($"{what} \"{inBody}\" in the body does not match \"{inPath}\" in the URL");
        }
    }
}
