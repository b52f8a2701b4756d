using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace EmbeddedChroma.Benchmarks;

/// <summary>
/// How a query's 10 rows are read by slot from a records-like table of 10,000 rows (id, 100-character document, small
/// metadata): <see cref="NewCommandJson"/> is the reader before session 9 (a new <see cref="SqliteCommand"/> per read,
/// so SQLite prepares its SQL each time, slots serialized with <see cref="JsonSerializer"/> for <c>json_each</c>);
/// the others keep one statement prepared on the connection and step it directly: the slots bound as 16 parameters
/// (unused ones NULL), or as one JSON text for <c>json_each</c>.
/// </summary>
[MemoryDiagnoser]
public class SlotReadBenchmarks
{
    private const int Rows = 10_000;
    private const string Select = "SELECT r.rid, r.slot, r.id, r.collection_id, r.document, r.metadata FROM records r WHERE r.collection_id = ";

    private string _path = "";
    private SqliteConnection? _connection;
    private sqlite3_stmt? _list;
    private sqlite3_stmt? _json;
    private int[][] _slots = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), "ec-bench-slots-" + Guid.NewGuid().ToString("N") + ".sqlite3");
        _connection = new SqliteConnection($"Data Source={_path};Pooling=false");
        _connection.Open();
        using (var create = _connection.CreateCommand())
        {
            create.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE records(rid INTEGER PRIMARY KEY, collection_id INTEGER NOT NULL, id TEXT NOT NULL, slot INTEGER NOT NULL, document TEXT, metadata TEXT, UNIQUE(collection_id, id), UNIQUE(collection_id, slot));";
            create.ExecuteNonQuery();
        }

        using (var transaction = _connection.BeginTransaction())
        using (var insert = _connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO records(collection_id, id, slot, document, metadata) VALUES (1, $id, $slot, $document, $metadata)";
            var id = insert.Parameters.Add("$id", SqliteType.Text);
            var slot = insert.Parameters.Add("$slot", SqliteType.Integer);
            var document = insert.Parameters.Add("$document", SqliteType.Text);
            var metadata = insert.Parameters.Add("$metadata", SqliteType.Text);
            for (var i = 0; i < Rows; i++)
            {
                id.Value = "id" + i;
                slot.Value = i;
                document.Value = ("document " + i + " ").PadRight(100, 'x');
                metadata.Value = $"{{\"n\":{i},\"kind\":\"k{i % 7}\"}}";
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        var places = string.Join(", ", Enumerable.Range(2, 16).Select(i => "?" + i));
        raw.sqlite3_prepare_v2(_connection.Handle, Select + $"?1 AND r.slot IN ({places})", out _list);
        raw.sqlite3_prepare_v2(_connection.Handle, Select + "?1 AND r.slot IN (SELECT value FROM json_each(?2))", out _json);
        var random = new Random(7);
        _slots = Enumerable.Range(0, 64).Select(_ => Enumerable.Range(0, 10).Select(_ => random.Next(Rows)).ToArray()).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _list?.Dispose();
        _json?.Dispose();
        _connection?.Dispose();
        File.Delete(_path);
    }

    [Benchmark(Baseline = true)]
    public int NewCommandJson()
    {
        using var command = _connection!.CreateCommand();
        command.CommandText = Select + "$collection AND r.slot IN (SELECT value FROM json_each($slots))";
        command.Parameters.AddWithValue("$collection", 1L);
        command.Parameters.AddWithValue("$slots", JsonSerializer.Serialize(_slots[_next++ & 63].Distinct().ToArray()));
        using var reader = command.ExecuteReader();
        var length = 0;
        while (reader.Read())
        {
            length += reader.GetString(2).Length + reader.GetString(4).Length + reader.GetString(5).Length;
        }

        return length;
    }

    [Benchmark]
    public int PreparedSixteenParameters()
    {
        var slots = _slots[_next++ & 63];
        raw.sqlite3_bind_int64(_list, 1, 1);
        for (var i = 0; i < 16; i++)
        {
            _ = i < slots.Length ? raw.sqlite3_bind_int64(_list, i + 2, slots[i]) : raw.sqlite3_bind_null(_list, i + 2);
        }

        return Step(_list!);
    }

    [Benchmark]
    public int PreparedJson()
    {
        raw.sqlite3_bind_int64(_json, 1, 1);
        raw.sqlite3_bind_text(_json, 2, "[" + string.Join(',', _slots[_next++ & 63]) + "]");
        return Step(_json!);
    }

    private static int Step(sqlite3_stmt statement)
    {
        var length = 0;
        while (raw.sqlite3_step(statement) == raw.SQLITE_ROW)
        {
            length += raw.sqlite3_column_text(statement, 2).utf8_to_string().Length
                + raw.sqlite3_column_text(statement, 4).utf8_to_string().Length
                + raw.sqlite3_column_text(statement, 5).utf8_to_string().Length;
        }

        raw.sqlite3_reset(statement);
        return length;
    }
}
