using Contiv.ControlPlane;
using Contiv.Model;

namespace Contiv.NetMaster;

/// <summary>
/// netmaster's REST API, on Contiv's paths (<c>/api/v1/networks/{tenant}:{net}/</c> and friends) so
/// netctl and existing scripts work unchanged. Trailing slashes are optional.
/// </summary>
/// <remarks>
/// Every handler takes the authenticated <see cref="Caller"/>. A tenant-scoped
/// caller sees and changes only its tenant: lists are filtered, any path naming another tenant is
/// 403 (decided from the path, before the store is read), global settings are read-only and tenants
/// cannot be created or deleted.
/// </remarks>
public static class NetMasterApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");

        api.MapGet("/tenants/", async (Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListTenantsAsync(ct)).Where(t => caller.CanSee(t.TenantName)).ToList()));
        api.MapGet("/tenants/{tenant}/", async (string tenant, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            tenant = Decode(tenant);
            caller.EnsureTenant(tenant);
            return Results.Ok(await control.GetTenantAsync(tenant, ct));
        });
        api.MapPost("/tenants/{tenant}/", async (string tenant, Tenant body, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            caller.EnsureAdmin("creating a tenant");
            tenant = Decode(tenant);
            body.TenantName = string.IsNullOrEmpty(body.TenantName) ? tenant : body.TenantName;
            EnsureSameName(tenant, body.TenantName, "tenant");
            return Results.Ok(await control.CreateTenantAsync(body, ct));
        });
        api.MapDelete("/tenants/{tenant}/", async (string tenant, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            caller.EnsureAdmin("deleting a tenant");
            await control.DeleteTenantAsync(Decode(tenant), ct);
            return Results.Ok();
        });

        api.MapGet("/networks/", async (string? tenant, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            if (tenant is not null)
            {
                caller.EnsureTenant(tenant);
            }

            var networks = await control.ListNetworksAsync(tenant ?? caller.Tenant, ct);
            return Results.Ok(networks.Select(n => n.Config).Where(n => caller.CanSee(n.TenantName)).ToList());
        });
        api.MapGet("/networks/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseNetworkKey(key, caller);
            return Results.Ok((await control.GetNetworkAsync(tenant, name, ct)).Config);
        });
        api.MapPost("/networks/{key}/", async (string key, Network body, Caller caller, ContivControl control, NetMasterOptions options, ILogger<NetMasterOptions> logger, CancellationToken ct) =>
        {
            var (tenant, name) = ParseNetworkKey(key, caller);
            body.TenantName = string.IsNullOrEmpty(body.TenantName) ? tenant : body.TenantName;
            body.NetworkName = string.IsNullOrEmpty(body.NetworkName) ? name : body.NetworkName;
            EnsureSameName(Decode(key), Names.NetworkKey(body.TenantName, body.NetworkName), "network");
            var created = await control.CreateNetworkAsync(body, ct);
            if (created.Config.NwType != "infra")
            {
                await DockerNetworkWait.ForAsync(control, options, logger, created.NetworkId, group: null, ct);
            }

            return Results.Ok(created.Config);
        });
        api.MapPut("/networks/{key}/", RejectNetworkUpdate);
        api.MapDelete("/networks/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseNetworkKey(key, caller);
            await control.DeleteNetworkAsync(tenant, name, ct);
            return Results.Ok();
        });

        api.MapGet("/globals/", async (Caller caller, ContivControl control, CancellationToken ct) => Results.Ok(new[] { await control.GetGlobalAsync(ct) }));
        api.MapGet("/globals/global/", async (Caller caller, ContivControl control, CancellationToken ct) => Results.Ok(await control.GetGlobalAsync(ct)));
        api.MapPost("/globals/global/", SetGlobalAsync);
        api.MapPut("/globals/global/", SetGlobalAsync);

        api.MapGet("/inspect/networks/{key}/", async (string key, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = ParseNetworkKey(key, caller);
            return Results.Ok(await control.InspectNetworkAsync(tenant, name, ct));
        });
        api.MapGet("/inspect/tenants/{tenant}/", async (string tenant, Caller caller, ContivControl control, CancellationToken ct) =>
        {
            tenant = Decode(tenant);
            caller.EnsureTenant(tenant);
            return Results.Ok(await control.InspectTenantAsync(tenant, ct));
        });
        api.MapGet("/inspect/globals/global/", async (Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.InspectGlobalAsync(ct)));
        api.MapGet("/inspect/endpoints/{endpointId}/", async (string endpointId, Caller caller, ContivControl control, CancellationToken ct) =>
            Results.Ok(new EndpointInspect { Oper = await FindEndpointAsync(Decode(endpointId), caller, control, ct) }));

        api.MapGet("/hosts/", async (Caller caller, ContivControl control, NetMasterOptions options, CancellationToken ct) =>
        {
            caller.EnsureAdmin("listing hosts");
            var endpoints = await control.ListEndpointsAsync(null, ct);
            var now = DateTimeOffset.UtcNow;
            return Results.Ok((await control.ListHostsAsync(ct)).Select(h => new HostStatus
            {
                Name = h.Name,
                VtepIp = h.VtepIp,
                LastSeen = h.LastSeen,
                State = now - h.LastSeen < options.HostTimeout ? "alive" : "presumed-dead",
                Endpoints = endpoints.Count(e => e.HomingHost == h.Name),
            }).ToList());
        });
        api.MapDelete("/hosts/{name}/", async (string name, bool? force, Caller caller, ContivControl control, NetMasterOptions options, CancellationToken ct) =>
        {
            caller.EnsureAdmin("removing a host");
            return Results.Ok(new HostRemoval { ReclaimedEndpoints = await control.RemoveHostAsync(Decode(name), force ?? false, options.HostTimeout, ct) });
        });

        app.MapGet("/version", (Caller caller) => Results.Ok(BuildInfo.Current));
    }

    /// <summary>Route values keep %2F and friends encoded; names are reported as the user typed them.</summary>
    private static string Decode(string routeValue) => Uri.UnescapeDataString(routeValue);

    /// <summary>The tenant and network of a <c>tenant:net</c> path segment, 403 when the caller may not use that tenant.</summary>
    private static (string Tenant, string Network) ParseNetworkKey(string key, Caller caller)
    {
        var (tenant, name) = Names.ParseNetworkKey(Decode(key));
        caller.EnsureTenant(tenant);
        return (tenant, name);
    }

    private static async Task<IResult> SetGlobalAsync(GlobalSettings body, Caller caller, ContivControl control, CancellationToken ct)
    {
        caller.EnsureAdmin("changing global settings");
        return Results.Ok(await control.SetGlobalAsync(body, ct));
    }

    /// <summary>
    /// An endpoint by id or unique prefix. A scoped caller searches only its tenant's endpoints, so
    /// another tenant's endpoint is "not found" (404, not 403): an endpoint id names no tenant, and
    /// answering 403 would confirm that the id exists elsewhere (and an ambiguous prefix would count
    /// other tenants' endpoints).
    /// </summary>
    private static async Task<EndpointOper> FindEndpointAsync(string endpointId, Caller caller, ContivControl control, CancellationToken ct)
    {
        if (caller.IsAdmin)
        {
            return await control.FindEndpointAsync(endpointId, ct);
        }

        var matches = (await control.ListEndpointsAsync(null, ct))
            .Where(e => e.EndpointId.StartsWith(endpointId, StringComparison.Ordinal) && caller.CanSee(TenantOf(e)))
            .ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw ContivException.NotFound($"endpoint {endpointId} not found"),
            _ => throw ContivException.Invalid($"endpoint id {endpointId} is ambiguous ({matches.Count} matches)"),
        };
    }

    private static string TenantOf(EndpointOper endpoint)
    {
        try
        {
            return Names.ParseNetworkId(endpoint.Network).Tenant;
        }
        catch (ContivException)
        {
            return string.Empty;
        }
    }

    /// <summary>Contiv networks are immutable once created (their tag and addresses are in use).</summary>
    private static IResult RejectNetworkUpdate(string key, Caller caller)
    {
        ParseNetworkKey(key, caller);
        throw ContivException.Invalid($"Cant change network parameters after its created (network {key}); delete and re-create it");
    }

    private static void EnsureSameName(string inPath, string inBody, string what)
    {
        if (inPath != inBody)
        {
            throw ContivException.Invalid($"{what} \"{inBody}\" in the body does not match \"{inPath}\" in the URL");
        }
    }
}
