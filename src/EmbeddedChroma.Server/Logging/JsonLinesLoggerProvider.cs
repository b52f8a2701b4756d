using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace EmbeddedChroma.Server.Logging;

/// <summary>
/// The ready host's log: one JSON object per line (<c>Timestamp</c>, <c>EventId</c>, <c>LogLevel</c>, <c>Category</c>,
/// <c>Message</c>, <c>State</c> with the entry's named values, <c>Exception</c> when there is one), written to a stream
/// (standard error) by one background thread that writes every line waiting in one write. A request thread only
/// formats its line into UTF-8 and queues it: no lock shared with the writer, no write or flush per line — the console
/// logger's per-line write and flush cost a request at 1 connection about a fifth of its time in the host.
/// </summary>
/// <remarks>
/// No line is dropped: when <see cref="MaxQueuedLines"/> lines wait (the stream is not read), logging waits for the
/// writer, as the console logger does. <see cref="Dispose"/> writes what is queued, then returns.
/// </remarks>
internal sealed class JsonLinesLoggerProvider : ILoggerProvider
{
    /// <summary>Lines that may wait for the writer before logging blocks.</summary>
    public const int MaxQueuedLines = 10_000;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly Stream _output;
    private readonly BlockingCollection<byte[]> _lines = new(new ConcurrentQueue<byte[]>(), MaxQueuedLines);
    private readonly Thread _thread;
    private readonly TimeProvider _time;
    private readonly LogLevel _minimum;

    public JsonLinesLoggerProvider(Stream output, LogLevel minimum = LogLevel.Trace, TimeProvider? time = null)
    {
        _output = output;
        _minimum = minimum;
        _time = time ?? TimeProvider.System;
        _thread = new Thread(WriteLines) { IsBackground = true, Name = "EmbeddedChroma log writer" };
        _thread.Start();
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Writes what is queued, then stops the writer (waits at most 10 s for a stream that is not read).</summary>
    public void Dispose()
    {
        if (!_lines.IsAddingCompleted)
        {
            _lines.CompleteAdding();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    private void Enqueue(byte[] line)
    {
        try
        {
            _lines.Add(line);
        }
        catch (InvalidOperationException)
        {
            // Logged after Dispose (a late shutdown message): nobody writes any more.
        }
    }

    private void WriteLines()
    {
        var batch = new ArrayBufferWriter<byte>(64 * 1024);
        try
        {
            while (_lines.TryTake(out var first, Timeout.Infinite))
            {
                batch.Write(first);

                // Everything that is waiting goes out in the same write (bounded, so a flood is written in pieces).
                while (batch.WrittenCount < 1024 * 1024 && _lines.TryTake(out var next))
                {
                    batch.Write(next);
                }

                try
                {
                    _output.Write(batch.WrittenSpan);
                    _output.Flush();
                }
                catch (IOException)
                {
                    // Standard error closed (the reader went away): the lines are lost, the host keeps serving.
                }
                catch (ObjectDisposedException)
                {
                }

                batch.ResetWrittenCount();
            }
        }
        catch (InvalidOperationException)
        {
            // Completed while waiting.
        }
    }

    private byte[] Format<TState>(string category, LogLevel level, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteString("Timestamp", _time.GetUtcNow().UtcDateTime);
        w.WriteNumber("EventId", eventId.Id);
        w.WriteString("LogLevel", LevelName(level));
        w.WriteString("Category", category);
        w.WriteString("Message", formatter(state, exception));
        if (exception is not null)
        {
            w.WriteString("Exception", exception.ToString());
        }

        if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            w.WriteStartObject("State");
            for (var i = 0; i < values.Count; i++)
            {
                var (name, value) = values[i];
                if (name == "{OriginalFormat}")
                {
                    continue;
                }

                switch (value)
                {
                    case null:
                        w.WriteNull(name);
                        break;
                    case string s:
                        w.WriteString(name, s);
                        break;
                    case int n:
                        w.WriteNumber(name, n);
                        break;
                    case long n:
                        w.WriteNumber(name, n);
                        break;
                    case double d when double.IsFinite(d):
                        w.WriteNumber(name, d);
                        break;
                    case bool b:
                        w.WriteBoolean(name, b);
                        break;
                    default:
                        w.WriteString(name, Convert.ToString(value, CultureInfo.InvariantCulture));
                        break;
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.Flush();
        var line = new byte[buffer.WrittenCount + 1];
        buffer.WrittenSpan.CopyTo(line);
        line[^1] = (byte)'\n';
        return line;
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "Trace",
        LogLevel.Debug => "Debug",
        LogLevel.Information => "Information",
        LogLevel.Warning => "Warning",
        LogLevel.Error => "Error",
        LogLevel.Critical => "Critical",
        _ => "None",
    };

    private sealed class Logger(JsonLinesLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            owner.Enqueue(owner.Format(category, logLevel, eventId, state, exception, formatter));
        }
    }
}
