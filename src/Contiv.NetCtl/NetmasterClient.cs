using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>A failure netctl reports as one line and a non-zero exit.</summary>
public sealed class NetCtlException(string message) : Exception(message);

/// <summary>Thin typed client over netmaster's REST API.</summary>
public sealed class NetmasterClient(HttpClient http, string baseUrl)
{
    private readonly string _baseUrl = baseUrl.TrimEnd('/');

    public static NetmasterClient Create(string netmasterUrl, string? token, TimeSpan timeout)
    {
        var http = new HttpClient { Timeout = timeout };
        if (!string.IsNullOrEmpty(token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return new NetmasterClient(http, netmasterUrl.Contains("://", StringComparison.Ordinal) ? netmasterUrl : "http://" + netmasterUrl);
    }

    public Task<List<Tenant>> ListTenantsAsync(CancellationToken ct) => GetAsync("/api/v1/tenants/", ContivJson.Default.ListTenant, ct);

    public Task<TenantInspect> InspectTenantAsync(string tenant, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/tenants/{Escape(tenant)}/", ContivJson.Default.TenantInspect, ct);

    public Task CreateTenantAsync(Tenant tenant, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/tenants/{Escape(tenant.TenantName)}/", JsonContent.Create(tenant, ContivJson.Default.Tenant), ct);

    public Task DeleteTenantAsync(string tenant, CancellationToken ct) => SendAsync(HttpMethod.Delete, $"/api/v1/tenants/{Escape(tenant)}/", null, ct);

    public Task<List<Network>> ListNetworksAsync(CancellationToken ct) => GetAsync("/api/v1/networks/", ContivJson.Default.ListNetwork, ct);

    public Task CreateNetworkAsync(Network network, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/networks/{NetworkPath(network.TenantName, network.NetworkName)}/", JsonContent.Create(network, ContivJson.Default.Network), ct);

    public Task DeleteNetworkAsync(string tenant, string network, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/networks/{NetworkPath(tenant, network)}/", null, ct);

    public Task<NetworkInspect> InspectNetworkAsync(string tenant, string network, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/networks/{NetworkPath(tenant, network)}/", ContivJson.Default.NetworkInspect, ct);

    public Task<GlobalSettings> GetGlobalAsync(CancellationToken ct) => GetAsync("/api/v1/globals/global/", ContivJson.Default.GlobalSettings, ct);

    public Task SetGlobalAsync(GlobalSettings global, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, "/api/v1/globals/global/", JsonContent.Create(global, ContivJson.Default.GlobalSettings), ct);

    public Task<GlobalInspect> InspectGlobalAsync(CancellationToken ct) => GetAsync("/api/v1/inspect/globals/global/", ContivJson.Default.GlobalInspect, ct);

    public Task<EndpointInspect> InspectEndpointAsync(string endpointId, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/endpoints/{Escape(endpointId)}/", ContivJson.Default.EndpointInspect, ct);

    public Task<VersionInfo> VersionAsync(CancellationToken ct) => GetAsync("/version", ContivJson.Default.VersionInfo, ct);

    private static string Escape(string s) => Uri.EscapeDataString(s);

    private static string NetworkPath(string tenant, string network) => Escape(tenant) + ":" + Escape(network);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await CallAsync(HttpMethod.Get, path, null, ct);
        return await response.Content.ReadFromJsonAsync(type, ct) ?? throw new NetCtlException($"netmaster returned an empty reply for {path}");
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        using var response = await CallAsync(method, path, body, ct);
    }

    private async Task<HttpResponseMessage> CallAsync(HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, _baseUrl + path) { Content = body };
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException s ? s.Message : e.Message;
            throw new NetCtlException($"netmaster at {_baseUrl} is unreachable: {reason}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new NetCtlException($"netmaster at {_baseUrl} did not answer within {http.Timeout.TotalSeconds:0} s");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            string message;
            try
            {
                message = JsonSerializer.Deserialize(text, ContivJson.Default.ApiError)?.Error ?? text;
            }
            catch (JsonException)
            {
                message = string.IsNullOrWhiteSpace(text) ? response.ReasonPhrase ?? response.StatusCode.ToString() : text.Trim();
            }

            if (response.StatusCode == HttpStatusCode.Unauthorized && string.IsNullOrEmpty(message))
            {
                message = "netmaster refused the request: a valid token is required (--token or CONTIV_TOKEN)";
            }

            throw new NetCtlException(message);
        }
    }
}
