using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Contiv.Model;

namespace Contiv.NetCtl;

/// <summary>A failure netctl reports as one line and a non-zero exit.</summary>
public sealed class NetCtlException(string message) : Exception(message);

/// <summary>Where and how netctl reaches netmaster: URL, bearer token, and a CA file to trust for https.</summary>
public sealed record NetmasterConnection(string Url, string? Token = null, string? TlsCa = null);

/// <summary>Thin typed client over netmaster's REST API.</summary>
public sealed class NetmasterClient
{
    private readonly HttpClient _http;
    private readonly string _baseUrl;
    private readonly TlsCheck? _tls;

    public NetmasterClient(HttpClient http, string baseUrl)
        : this(http, baseUrl, null)
    {
    }

    private NetmasterClient(HttpClient http, string baseUrl, TlsCheck? tls)
    {
        _http = http;
        _baseUrl = baseUrl.TrimEnd('/');
        _tls = tls;
    }

    public static NetmasterClient Create(string netmasterUrl, string? token, TimeSpan timeout) => Create(new NetmasterConnection(netmasterUrl, token), timeout);

    /// <summary>
    /// A client for <paramref name="connection"/>. With <c>TlsCa</c>, an https netmaster must present a
    /// certificate issued by (or equal to) a certificate in that PEM file, for the host in the URL;
    /// the system's CAs are then not used. A token is never sent over plain http to another host.
    /// </summary>
    /// <exception cref="NetCtlException">The URL, the CA file or the combination is unusable.</exception>
    public static NetmasterClient Create(NetmasterConnection connection, TimeSpan timeout)
    {
        var url = connection.Url.Contains("://", StringComparison.Ordinal) ? connection.Url : "http://" + connection.Url;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new NetCtlException($"invalid --netmaster URL {connection.Url}: expected http://HOST:PORT or https://HOST:PORT");
        }

        if (!string.IsNullOrEmpty(connection.Token) && uri.Scheme == "http" && !uri.IsLoopback)
        {
            throw new NetCtlException($"refusing to send the token over plain http to {uri.Host}: use --netmaster https://{uri.Authority}");
        }

        var tls = new TlsCheck(string.IsNullOrEmpty(connection.TlsCa) ? null : connection.TlsCa, LoadCa(connection.TlsCa));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = tls.Validate;
        var http = new HttpClient(handler) { Timeout = timeout };
        if (!string.IsNullOrEmpty(connection.Token))
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.Token);
        }

        return new NetmasterClient(http, url, tls);
    }

    public Task<List<Tenant>> ListTenantsAsync(CancellationToken ct) => GetAsync("/api/v1/tenants/", ContivJson.Default.ListTenant, ct);

    public Task<Tenant> GetTenantAsync(string tenant, CancellationToken ct) =>
        GetAsync($"/api/v1/tenants/{Escape(tenant)}/", ContivJson.Default.Tenant, ct);

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

    public Task<List<HostStatus>> ListHostsAsync(CancellationToken ct) => GetAsync("/api/v1/hosts/", ContivJson.Default.ListHostStatus, ct);

    public async Task<HostRemoval> RemoveHostAsync(string host, bool force, CancellationToken ct)
    {
        using var response = await CallAsync(HttpMethod.Delete, $"/api/v1/hosts/{Escape(host)}/?force={(force ? "true" : "false")}", null, ct);
        return await response.Content.ReadFromJsonAsync(ContivJson.Default.HostRemoval, ct) ?? new HostRemoval();
    }

    public Task<List<EndpointGroupConfig>> ListGroupsAsync(CancellationToken ct) => GetAsync("/api/v1/endpointGroups/", ContivJson.Default.ListEndpointGroupConfig, ct);

    public Task CreateGroupAsync(EndpointGroupConfig group, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/endpointGroups/{NetworkPath(group.TenantName, group.GroupName)}/", JsonContent.Create(group, ContivJson.Default.EndpointGroupConfig), ct);

    public Task UpdateGroupAsync(EndpointGroupConfig group, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"/api/v1/endpointGroups/{NetworkPath(group.TenantName, group.GroupName)}/", JsonContent.Create(group, ContivJson.Default.EndpointGroupConfig), ct);

    public Task<EndpointGroupConfig> GetGroupAsync(string tenant, string group, CancellationToken ct) =>
        GetAsync($"/api/v1/endpointGroups/{NetworkPath(tenant, group)}/", ContivJson.Default.EndpointGroupConfig, ct);

    public Task DeleteGroupAsync(string tenant, string group, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/endpointGroups/{NetworkPath(tenant, group)}/", null, ct);

    public Task<EndpointGroupInspect> InspectGroupAsync(string tenant, string group, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/endpointGroups/{NetworkPath(tenant, group)}/", ContivJson.Default.EndpointGroupInspect, ct);

    public Task<List<PolicyConfig>> ListPoliciesAsync(CancellationToken ct) => GetAsync("/api/v1/policys/", ContivJson.Default.ListPolicyConfig, ct);

    public Task CreatePolicyAsync(PolicyConfig policy, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/policys/{NetworkPath(policy.TenantName, policy.PolicyName)}/", JsonContent.Create(policy, ContivJson.Default.PolicyConfig), ct);

    public Task DeletePolicyAsync(string tenant, string policy, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/policys/{NetworkPath(tenant, policy)}/", null, ct);

    public Task<PolicyInspect> InspectPolicyAsync(string tenant, string policy, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/policys/{NetworkPath(tenant, policy)}/", ContivJson.Default.PolicyInspect, ct);

    public Task<List<RuleObject>> ListRulesAsync(string tenant, string policy, CancellationToken ct) =>
        GetAsync($"/api/v1/rules/?tenant={Escape(tenant)}&policy={Escape(policy)}", ContivJson.Default.ListRuleObject, ct);

    public Task AddRuleAsync(RuleObject rule, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/rules/{RulePath(rule.TenantName, rule.PolicyName, rule.RuleId)}/", JsonContent.Create(rule, ContivJson.Default.RuleObject), ct);

    public Task DeleteRuleAsync(string tenant, string policy, string ruleId, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/rules/{RulePath(tenant, policy, ruleId)}/", null, ct);

    public Task<List<NetProfileConfig>> ListNetProfilesAsync(CancellationToken ct) => GetAsync("/api/v1/netprofiles/", ContivJson.Default.ListNetProfileConfig, ct);

    public Task CreateNetProfileAsync(NetProfileConfig profile, CancellationToken ct) =>
        SendAsync(HttpMethod.Post, $"/api/v1/netprofiles/{NetworkPath(profile.TenantName, profile.ProfileName)}/", JsonContent.Create(profile, ContivJson.Default.NetProfileConfig), ct);

    public Task UpdateNetProfileAsync(NetProfileConfig profile, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"/api/v1/netprofiles/{NetworkPath(profile.TenantName, profile.ProfileName)}/", JsonContent.Create(profile, ContivJson.Default.NetProfileConfig), ct);

    public Task<NetProfileConfig> GetNetProfileAsync(string tenant, string profile, CancellationToken ct) =>
        GetAsync($"/api/v1/netprofiles/{NetworkPath(tenant, profile)}/", ContivJson.Default.NetProfileConfig, ct);

    public Task DeleteNetProfileAsync(string tenant, string profile, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/api/v1/netprofiles/{NetworkPath(tenant, profile)}/", null, ct);

    public Task<NetProfileInspect> InspectNetProfileAsync(string tenant, string profile, CancellationToken ct) =>
        GetAsync($"/api/v1/inspect/netprofiles/{NetworkPath(tenant, profile)}/", ContivJson.Default.NetProfileInspect, ct);

    private static string Escape(string s) => Uri.EscapeDataString(s);

    private static string RulePath(string tenant, string policy, string ruleId) => Escape(tenant) + ":" + Escape(policy) + ":" + Escape(ruleId);

    private static string NetworkPath(string tenant, string network) => Escape(tenant) + ":" + Escape(network);

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var response = await CallAsync(HttpMethod.Get, path, null, ct);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct) ?? throw new NetCtlException($"netmaster returned an empty reply for {path}");
        }
        catch (JsonException)
        {
            throw new NetCtlException($"{_baseUrl} answered {path} with something that is not netmaster's JSON");
        }
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
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw new NetCtlException(Describe(e));
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new NetCtlException($"netmaster at {_baseUrl} did not answer within {_http.Timeout.TotalSeconds:0} s");
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

            // netmaster's own 401/403 bodies say what is wrong; anything in between (a proxy) may not.
            if (response.StatusCode == HttpStatusCode.Unauthorized && !message.Contains("token", StringComparison.OrdinalIgnoreCase))
            {
                message = $"netmaster refused the request (401 Unauthorized): a valid token is required (--token or CONTIV_TOKEN): {message}";
            }
            else if (response.StatusCode == HttpStatusCode.Forbidden && !message.StartsWith("forbidden", StringComparison.Ordinal))
            {
                message = $"netmaster refused the request (403 Forbidden): the token does not allow this: {message}";
            }

            throw new NetCtlException(OneLine(message));
        }
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>One line for a request that got no HTTP answer: unreachable, a TLS failure, or a scheme mismatch.</summary>
    private string Describe(HttpRequestException e)
    {
        var https = _baseUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (_tls?.Failure is { } untrusted)
        {
            var hint = !_tls.ChainFailed ? string.Empty
                : _tls.CaFile is null ? "; pass --tls-ca FILE with the CA (or self-signed certificate) to trust" : $" (trusted: --tls-ca {_tls.CaFile})";
            return $"TLS: the certificate of netmaster at {_baseUrl} is not accepted: {untrusted}{hint}";
        }

        if (https && (e.HttpRequestError == HttpRequestError.SecureConnectionError || e.InnerException is AuthenticationException))
        {
            var reason = e.InnerException?.Message ?? e.Message;
            return $"TLS handshake with netmaster at {_baseUrl} failed: {OneLine(reason)} (if it serves plain http, use --netmaster http://...)";
        }

        if (!https && e.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.InvalidResponse)
        {
            return $"netmaster at {_baseUrl} closed the connection without an HTTP answer: if it serves HTTPS, use --netmaster https://...";
        }

        var detail = e.InnerException is SocketException s ? s.Message : e.Message;
        return $"netmaster at {_baseUrl} is unreachable: {OneLine(detail)}";
    }

    private static X509Certificate2Collection? LoadCa(string? file)
    {
        if (string.IsNullOrEmpty(file))
        {
            return null;
        }

        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new NetCtlException($"cannot read --tls-ca {file}: {OneLine(e.Message)}");
        }

        return certificates.Count == 0 ? throw new NetCtlException($"--tls-ca {file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") : certificates;
    }

    /// <summary>Checks the server certificate and remembers why it was refused, for the error line.</summary>
    private sealed class TlsCheck(string? caFile, X509Certificate2Collection? trusted)
    {
        private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

        public string? CaFile { get; } = caFile;

        public string? Failure { get; private set; }

        /// <summary>The failure is about who issued the certificate (so --tls-ca is the fix), not its name.</summary>
        public bool ChainFailed { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            ChainFailed = false;
            Failure = Check(certificate, chain, errors);
            return Failure is null;
        }

        private string? Check(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
        {
            if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                return "it presented no certificate";
            }

            using var leaf = new X509Certificate2(certificate);
            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            {
                return $"the certificate ({leaf.Subject}) is not issued for the host in --netmaster";
            }

            if (trusted is null)
            {
                return errors == SslPolicyErrors.None ? null : "not trusted by the system's CAs: " + ChainProblems(presented);
            }

            // Only the --tls-ca certificates are roots; intermediates the server sent may link to them.
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
            if (presented is not null)
            {
                foreach (var element in presented.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            return chain.Build(leaf) ? null : "not issued by a CA in --tls-ca: " + ChainProblems(chain);
        }

        private string ChainProblems(X509Chain? chain)
        {
            ChainFailed = true;
            var problems = chain?.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError).Select(s => OneLine(s.StatusInformation).TrimEnd('.')).Distinct().ToList();
            return problems is { Count: > 0 } ? string.Join("; ", problems) : "the chain does not verify";
        }
    }
}
