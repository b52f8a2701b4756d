using System.CommandLine;
using System.Net;
using EmbeddedChroma.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Cli.Commands;

/// <summary>
/// <c>embeddedchroma serve</c>: the store over Chroma's HTTP API (EmbeddedChroma.Server's <c>MapChroma</c>), on loopback
/// unless told otherwise; every request authenticated by the key ring. Ctrl+C or SIGTERM stop it gracefully: requests in
/// flight finish, then the store is closed.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "The address to listen on (default: loopback only). 0.0.0.0 exposes the store to the network.", DefaultValueFactory = _ => "127.0.0.1", HelpName = "ADDRESS" };
        var port = new Option<int>("--port") { Description = "The port (0: any free port).", DefaultValueFactory = _ => 8000, HelpName = "PORT" };
        var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body.", DefaultValueFactory = _ => ChromaServerOptions.DefaultMaxRequestBodyBytes, HelpName = "N" };
        var dashboard = new Option<bool>("--dashboard") { Description = "Also serve the keys dashboard at /dashboard/ (loopback callers only; log in with the admin key)." };
        var command = new Command("serve", "Serve the store over Chroma's HTTP API v2 (the chromadb clients work against it); Ctrl+C stops it.") { Cli.Store, host, port, maxBody, dashboard };
        Cli.SetAction(command, async (parse, cancellationToken) =>
        {
            if (!IPAddress.TryParse(parse.GetRequiredValue(host), out var address))
            {
                throw new CliException(ExitCodes.Usage, $"--host: '{parse.GetRequiredValue(host)}' is not an IP address.", "use 127.0.0.1 (default), ::1 or 0.0.0.0.");
            }

            var listen = parse.GetValue(port);
            if (listen is < 0 or > 65535)
            {
                throw new CliException(ExitCodes.Usage, $"--port must be between 0 and 65535, got {listen}.", "8000 is Chroma's default.");
            }

            var path = Session.RequireStore(parse.GetRequiredValue(Cli.Store));
            using var store = ChromaStore.Open(path);
            await using var app = BuildApp(store, new IPEndPoint(address, listen), new ChromaServerOptions { MaxRequestBodyBytes = parse.GetValue(maxBody) }, parse.GetValue(dashboard));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Terminal.Note($"Serving '{path}' on {string.Join(", ", addresses)} (Chroma API at /api/v2); Ctrl+C stops.");
            if (parse.GetValue(dashboard))
            {
                foreach (var served in addresses)
                {
                    Terminal.Note($"Keys dashboard: {served.TrimEnd('/')}{ChromaDashboardEndpoints.Path}/");
                }
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            Terminal.Note("Stopping: finishing requests in flight, then closing the store.");
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The host: Kestrel on one endpoint, warnings to standard error, the Chroma routes and, when asked, the keys dashboard.</summary>
    internal static WebApplication BuildApp(ChromaStore store, IPEndPoint endpoint, ChromaServerOptions options, bool dashboard = false)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        // System.CommandLine owns Ctrl+C/SIGTERM (the action's cancellation token), not the host's console lifetime.
        builder.Services.Configure<Microsoft.Extensions.Hosting.ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        var app = builder.Build();
        app.MapChroma(store, options);
        if (dashboard)
        {
            app.MapChromaDashboard(store);
        }

        return app;
    }
}
