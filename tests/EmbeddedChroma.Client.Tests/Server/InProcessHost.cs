using System.Net;
using EmbeddedChroma.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Client.Tests.Server;

/// <summary>
/// This project's own host (<c>app.MapChroma(store)</c>) in this process on a free loopback port, over a new store in
/// a temp folder, shared by every test of the assembly; stopped, the store closed and the folder deleted at exit.
/// </summary>
public sealed class InProcessHost
{
    private static readonly Lazy<Task<InProcessHost>> SharedHost = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private InProcessHost(Uri address, string adminKey)
    {
        Address = address;
        AdminKey = adminKey;
    }

    /// <summary>The host's address, <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Address { get; }

    /// <summary>The store's admin key (sent as a bearer token).</summary>
    public string AdminKey { get; }

    public static Task<InProcessHost> SharedAsync() => SharedHost.Value;

    private static async Task<InProcessHost> StartAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "ec-host-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);

        // The exit handler below does not always run (the test host may be ended without it): a watchdog deletes the
        // folder once this process is gone.
        var watchdog = new System.Diagnostics.ProcessStartInfo("sh") { UseShellExecute = false };
        watchdog.ArgumentList.Add("-c");
        watchdog.ArgumentList.Add($"while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 2; done; rm -rf '{folder}'");
        using (System.Diagnostics.Process.Start(watchdog))
        {
        }

        var store = ChromaStore.Create(Path.Combine(folder, "store"), out var adminKey);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapChroma(store);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            app.StopAsync().GetAwaiter().GetResult();
            store.Dispose();
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return new InProcessHost(new Uri(address.TrimEnd('/') + "/"), adminKey);
    }
}
