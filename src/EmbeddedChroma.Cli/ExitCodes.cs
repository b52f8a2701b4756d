namespace EmbeddedChroma.Cli;

/// <summary>The command line's exit codes (documented in <c>--help</c> and the README), and how errors map to them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Usage = 1;
    public const int NotFound = 2;
    public const int Auth = 3;
    public const int Conflict = 4;
    public const int Corrupt = 5;
    public const int Busy = 6;
    public const int Storage = 7;
    public const int Embedding = 8;
    public const int Internal = 10;
    public const int Interrupted = 130;

    /// <summary>The table printed at the end of <c>embeddedchroma --help</c>.</summary>
    public const string HelpText = """
        Exit codes:
          0    ok
          1    usage: unknown command or option, invalid value or input, a key given as an argument
          2    not found: no store, tenant, database, collection, key or input file of that name
          3    auth: no key, key file not owner-only, key wrong/expired/disabled/revoked, or action not allowed
          4    conflict: it exists already
          5    corrupt: the store's records or key ring are damaged, or a check (verify, audit chain) failed
               (verify rebuilds damaged derived files, vectors/graphs/filter indexes, from the records: exit 0)
          6    locked/busy: another process has the store open, or the key is rate limited
          7    storage: disk full, read-only medium, I/O error, backup failed
          8    embedding: the embedding model failed or is not available
          10   internal error (a bug: run again with --verbose and report it)
          130  interrupted (Ctrl+C)

        Keys come from --key-file PATH (owner-only), else EMBEDDEDCHROMA_KEY, else a hidden prompt when
        stdin is a terminal; never from an argument.
        """;

    /// <summary>The exit code and a one-line hint for an error.</summary>
    public static (int Code, string Hint) Of(Exception error) => error switch
    {
        CliException cli => (cli.Code, cli.Hint),
        ChromaNotFoundException => (NotFound, "check the name and --tenant/--database; the list commands show what exists."),
        ChromaAuthenticationException => (Auth, "the key is unknown, wrong, expired, disabled or revoked: check EMBEDDEDCHROMA_KEY or --key-file."),
        ChromaAuthorizationException => (Auth, "the key lacks this action or scope: use a key that holds it (see `embeddedchroma keys show ID`)."),
        ChromaRateLimitedException limited => (Busy, $"the key is rate limited: retry in {Math.Ceiling(limited.RetryAfter.TotalSeconds):0} s."),
        ChromaConflictException => (Conflict, "it exists already: pick another name, or delete it first."),
        ChromaCorruptStoreException => (Corrupt, "restore the store folder from a backup (`embeddedchroma backup` makes one)."),
        ChromaKeyRingException => (Corrupt, "the key ring was damaged or tampered with: restore the store folder from a backup."),
        ChromaStoreLockedException => (Busy, "another process has the store open (an application or `embeddedchroma serve`): stop it, or use its HTTP API."),
        ChromaStorageFullException => (Storage, "free disk space, then run the command again."),
        ChromaReadOnlyException => (Storage, "the store is on a read-only medium or not writable by this user."),
        ChromaStorageIOException or ChromaBackupException => (Storage, "check the disk and the folder's permissions."),
        ChromaEmbeddingException => (Embedding, "give embeddings instead of documents, or check the embedding model."),
        ChromaValidationException or ChromaLimitExceededException => (Usage, "see the command's --help."),
        ChromaException => (Internal, "run again with --verbose for details."),
        OperationCanceledException => (Interrupted, "interrupted."),
        _ => (Internal, "this is a bug: run again with --verbose and report it."),
    };
}

/// <summary>An error of the command line itself (not of the store): its exit code and hint travel with it.</summary>
internal sealed class CliException : Exception
{
    public CliException(int code, string message, string hint)
        : base(message)
    {
        Code = code;
        Hint = hint;
    }

    public CliException()
    {
        Hint = string.Empty;
    }

    public CliException(string message)
        : base(message)
    {
        Hint = string.Empty;
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        Hint = string.Empty;
    }

    public int Code { get; } = ExitCodes.Internal;

    public string Hint { get; }
}
