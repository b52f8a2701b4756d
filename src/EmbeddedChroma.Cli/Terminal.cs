using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace EmbeddedChroma.Cli;

/// <summary>
/// Where output goes. Results go to standard output: a Spectre table when it is a terminal, tab-separated lines
/// (header first) when it is not, JSON with <c>--json</c>. Prompts, progress bars and notes go to standard error, so
/// a redirected result stays clean; progress bars only when standard error is a terminal.
/// </summary>
internal static class Terminal
{
    private static readonly JsonWriterOptions JsonOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static IAnsiConsole? _err;
    private static IAnsiConsole? _out;

    public static bool OutIsTerminal => !Console.IsOutputRedirected;

    public static bool ErrIsTerminal => !Console.IsErrorRedirected;

    public static bool InIsTerminal => !Console.IsInputRedirected;

    /// <summary>Standard error as a Spectre console (prompts, progress).</summary>
    public static IAnsiConsole Err => _err ??= AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Console.Error),
        Interactive = InIsTerminal && ErrIsTerminal ? InteractionSupport.Yes : InteractionSupport.No,
    });

    private static IAnsiConsole Out => _out ??= AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    /// <summary>A line of result on standard output.</summary>
    public static void Line(string text) => Console.Out.WriteLine(text);

    /// <summary>A note for people on standard error.</summary>
    public static void Note(string text) => Console.Error.WriteLine(text);

    /// <summary>Writes one JSON document to standard output.</summary>
    public static void Json(Action<Utf8JsonWriter> write)
    {
        using (var stream = Console.OpenStandardOutput())
        using (var writer = new Utf8JsonWriter(stream, JsonOptions))
        {
            write(writer);
            writer.Flush();
        }

        Console.Out.WriteLine();
    }

    /// <summary>A table: Spectre's when standard output is a terminal, else tab-separated lines with the header first.</summary>
    public static void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        if (!OutIsTerminal)
        {
            Console.Out.WriteLine(string.Join('\t', headers));
            foreach (var row in rows)
            {
                Console.Out.WriteLine(string.Join('\t', row.Select(c => Plain(c ?? string.Empty))));
            }

            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header, new Style(decoration: Decoration.Bold))));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(c => (IRenderable)new Text(c ?? string.Empty)));
        }

        Out.Write(table);
    }

    /// <summary>Name/value pairs (one record): a two-column table on a terminal, <c>name\tvalue</c> lines otherwise.</summary>
    public static void Fields(IEnumerable<(string Name, string? Value)> fields) =>
        Table(["field", "value"], fields.Select(f => (IReadOnlyList<string?>)[f.Name, f.Value]));

    /// <summary>Tabs and line breaks inside a cell would break the tab-separated form.</summary>
    private static string Plain(string cell) => cell.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');

    /// <summary>
    /// Runs <paramref name="work"/> with a progress bar on standard error when it is a terminal (Spectre), and without
    /// one otherwise. <paramref name="work"/> reports (done, total); a null total shows an indeterminate bar.
    /// </summary>
    public static async Task<T> WithProgress<T>(string description, double? total, Func<Action<double, double?>, Task<T>> work)
    {
        if (!ErrIsTerminal)
        {
            return await work((_, _) => { }).ConfigureAwait(false);
        }

        return await Err.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(description), autoStart: true, maxValue: total ?? 1);
                task.IsIndeterminate = total is null;
                var result = await work((done, max) =>
                {
                    if (max is { } m && m > 0)
                    {
                        task.IsIndeterminate = false;
                        task.MaxValue = m;
                    }

                    task.Value = Math.Min(done, task.MaxValue);
                }).ConfigureAwait(false);
                task.IsIndeterminate = false;
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            }).ConfigureAwait(false);
    }

    /// <summary>The store's progress reports (<see cref="ChromaProgress"/>) moved onto a bar's (done, total) callback, synchronously.</summary>
    public static IProgress<ChromaProgress> Reporter(Action<double, double?> report) => new ProgressReporter(report);

    private sealed class ProgressReporter(Action<double, double?> report) : IProgress<ChromaProgress>
    {
        public void Report(ChromaProgress value) => report(value.Completed, value.Total > 0 ? value.Total : null);
    }

    /// <summary>Runs a step that reports no progress of its own under an indeterminate bar (terminal only).</summary>
    public static Task<T> WithSpinner<T>(string description, Func<T> work) =>
        WithProgress(description, null, _ => Task.Run(work));

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.00} GiB"),
    };

    public static string Number(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
