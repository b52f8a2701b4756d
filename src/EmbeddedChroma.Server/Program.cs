using System.Globalization;
using System.Net;
using EmbeddedChroma;
using EmbeddedChroma.Server;
using EmbeddedChroma.Server.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// The ready host: dotnet run -c Release --project src/EmbeddedChroma.Server -- --path DIR [--port 8000] [--host 127.0.0.1] [--max-body-bytes N] [--dashboard] [--server-timing]
// Creates the store when DIR holds none and prints its admin key once, as "admin key: <key>" on standard output.
// With --dashboard it also serves the keys dashboard at /dashboard/ (loopback callers only; log in with the admin key).
// Logs (one JSON line per request, without keys) go to standard error. Ctrl+C / SIGTERM stop it gracefully: requests
// in flight finish, then the store is closed.
if (!HostArguments.TryParse(args, out var arguments, out var problem))
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine("usage: EmbeddedChroma.Server --path DIR [--port 8000] [--host 127.0.0.1] [--max-body-bytes 33554432] [--dashboard] [--server-timing]");
    return 2;
}

ChromaStore store;
try
{
    if (ChromaStore.Exists(arguments.Path))
    {
        store = ChromaStore.Open(arguments.Path);
    }
    else
    {
        store = ChromaStore.Create(arguments.Path, out var adminKey);
        Console.Out.WriteLine($"admin key: {adminKey}");
        Console.Out.Flush();
    }
}
catch (ChromaException e)
{
    Console.Error.WriteLine($"Cannot open the store: {e.Message}");
    return 1;
}

try
{
    var options = new ChromaServerOptions { MaxRequestBodyBytes = arguments.MaxBodyBytes, ServerTiming = arguments.ServerTiming };
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
    builder.WebHost.ConfigureKestrel(kestrel =>
    {
        kestrel.Listen(arguments.Host, arguments.Port);
        kestrel.Limits.MaxRequestBodySize = arguments.MaxBodyBytes;
        kestrel.AddServerHeader = false;
    });
    builder.Logging.ClearProviders();

    // One JSON line per entry on standard error, written in batches by one background thread (JsonLinesLoggerProvider:
    // the console logger's write and flush per line cost a 1-connection query about a fifth of its time in the host).
    builder.Services.AddSingleton<ILoggerProvider>(_ => new JsonLinesLoggerProvider(Console.OpenStandardError()));
    builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    builder.Services.AddOpenApi();

    await using var app = builder.Build();

    // The OpenAPI document is behind the key ring like every route (any valid key may read it).
    app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments("/openapi", StringComparison.Ordinal))
        {
            try
            {
                store.AuthenticateHeaders(context.Request.Headers.Authorization.Count == 1 ? context.Request.Headers.Authorization[0] : null,
                    context.Request.Headers["X-Chroma-Token"].Count == 1 ? context.Request.Headers["X-Chroma-Token"][0] : null);
            }
            catch (ChromaException)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"chroma\"";
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    });
    app.MapOpenApi();
    app.MapChroma(store, options);
    if (arguments.Dashboard)
    {
        app.MapChromaDashboard(store);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var address in app.Urls)
            {
                Console.Out.WriteLine($"keys dashboard: {address.TrimEnd('/')}{ChromaDashboardEndpoints.Path}/");
            }

            Console.Out.Flush();
        });
    }

    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
finally
{
    store.Dispose();
}

/// <summary>The ready host's command line.</summary>
internal sealed record HostArguments(string Path, IPAddress Host, int Port, long MaxBodyBytes, bool Dashboard = false, bool ServerTiming = false)
{
    public static bool TryParse(string[] args, out HostArguments parsed, out string problem)
    {
        parsed = new HostArguments(string.Empty, IPAddress.Loopback, 8000, ChromaServerOptions.DefaultMaxRequestBodyBytes);
        problem = string.Empty;
        string? path = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--dashboard")
            {
                parsed = parsed with { Dashboard = true };
                continue;
            }

            if (args[i] == "--server-timing")
            {
                parsed = parsed with { ServerTiming = true };
                continue;
            }

            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--path" when value is not null:
                    path = value;
                    break;
                case "--port" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 0 and <= 65535:
                    parsed = parsed with { Port = port };
                    break;
                case "--host" when IPAddress.TryParse(value, out var host):
                    parsed = parsed with { Host = host };
                    break;
                case "--max-body-bytes" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max > 0:
                    parsed = parsed with { MaxBodyBytes = max };
                    break;
                default:
                    problem = $"Unknown or incomplete argument '{args[i]}'.";
                    return false;
            }

            i++;
        }

        if (string.IsNullOrWhiteSpace(path))
        {
            problem = "--path DIR is required.";
            return false;
        }

        parsed = parsed with { Path = path };
        return true;
    }
}
