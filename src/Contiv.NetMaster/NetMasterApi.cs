using Contiv.ControlPlane;
using Contiv.Model;

namespace Contiv.NetMaster;

/// <summary>
/// netmaster's REST API, on Contiv's paths (<c>/api/v1/networks/{tenant}:{net}/</c> and friends) so
/// netctl and existing scripts work unchanged. Trailing slashes are optional.
/// </summary>
public static class NetMasterApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");

        api.MapGet("/tenants/", async (ContivControl control, CancellationToken ct) => Results.Ok(await control.ListTenantsAsync(ct)));
        api.MapGet("/tenants/{tenant}/", async (string tenant, ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.GetTenantAsync(Decode(tenant), ct)));
        api.MapPost("/tenants/{tenant}/", async (string tenant, Tenant body, ContivControl control, CancellationToken ct) =>
        {
            tenant = Decode(tenant);
            body.TenantName = string.IsNullOrEmpty(body.TenantName) ? tenant : body.TenantName;
            EnsureSameName(tenant, body.TenantName, "tenant");
            return Results.Ok(await control.CreateTenantAsync(body, ct));
        });
        api.MapDelete("/tenants/{tenant}/", async (string tenant, ContivControl control, CancellationToken ct) =>
        {
            await control.DeleteTenantAsync(Decode(tenant), ct);
            return Results.Ok();
        });

        api.MapGet("/networks/", async (string? tenant, ContivControl control, CancellationToken ct) =>
            Results.Ok((await control.ListNetworksAsync(tenant, ct)).Select(n => n.Config).ToList()));
        api.MapGet("/networks/{key}/", async (string key, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = Names.ParseNetworkKey(Decode(key));
            return Results.Ok((await control.GetNetworkAsync(tenant, name, ct)).Config);
        });
        api.MapPost("/networks/{key}/", async (string key, Network body, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = Names.ParseNetworkKey(Decode(key));
            body.TenantName = string.IsNullOrEmpty(body.TenantName) ? tenant : body.TenantName;
            body.NetworkName = string.IsNullOrEmpty(body.NetworkName) ? name : body.NetworkName;
            EnsureSameName(Decode(key), Names.NetworkKey(body.TenantName, body.NetworkName), "network");
            return Results.Ok((await control.CreateNetworkAsync(body, ct)).Config);
        });
        api.MapPut("/networks/{key}/", RejectNetworkUpdate);
        api.MapDelete("/networks/{key}/", async (string key, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = Names.ParseNetworkKey(Decode(key));
            await control.DeleteNetworkAsync(tenant, name, ct);
            return Results.Ok();
        });

        api.MapGet("/globals/", async (ContivControl control, CancellationToken ct) => Results.Ok(new[] { await control.GetGlobalAsync(ct) }));
        api.MapGet("/globals/global/", async (ContivControl control, CancellationToken ct) => Results.Ok(await control.GetGlobalAsync(ct)));
        api.MapPost("/globals/global/", async (GlobalSettings body, ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.SetGlobalAsync(body, ct)));
        api.MapPut("/globals/global/", async (GlobalSettings body, ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.SetGlobalAsync(body, ct)));

        api.MapGet("/inspect/networks/{key}/", async (string key, ContivControl control, CancellationToken ct) =>
        {
            var (tenant, name) = Names.ParseNetworkKey(Decode(key));
            return Results.Ok(await control.InspectNetworkAsync(tenant, name, ct));
        });
        api.MapGet("/inspect/tenants/{tenant}/", async (string tenant, ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.InspectTenantAsync(Decode(tenant), ct)));
        api.MapGet("/inspect/globals/global/", async (ContivControl control, CancellationToken ct) =>
            Results.Ok(await control.InspectGlobalAsync(ct)));
        api.MapGet("/inspect/endpoints/{endpointId}/", async (string endpointId, ContivControl control, CancellationToken ct) =>
            Results.Ok(new EndpointInspect { Oper = await control.FindEndpointAsync(Decode(endpointId), ct) }));

        app.MapGet("/version", () => Results.Ok(BuildInfo.Current));
        app.MapGet("/health", async (ContivControl control, CancellationToken ct) =>
        {
            await control.GetGlobalAsync(ct);
            return Results.Text("ok");
        });
    }

    /// <summary>Route values keep %2F and friends encoded; names are reported as the user typed them.</summary>
    private static string Decode(string routeValue) => Uri.UnescapeDataString(routeValue);

    /// <summary>Contiv networks are immutable once created (their tag and addresses are in use).</summary>
    private static IResult RejectNetworkUpdate(string key) =>
        throw ContivException.Invalid($"Cant change network parameters after its created (network {key}); delete and re-create it");

    private static void EnsureSameName(string inPath, string inBody, string what)
    {
        if (inPath != inBody)
        {
            throw ContivException.Invalid($"{what} \"{inBody}\" in the body does not match \"{inPath}\" in the URL");
        }
    }
}
