namespace EmbeddedChroma.Server.Wire;

/// <summary>
/// A request the host cannot turn into a call: a body that is not JSON (Chroma's server answers 400
/// <c>InvalidArgumentError</c>) or JSON of the wrong shape (422 <c>ChromaError</c>, "Failed to deserialize …").
/// </summary>
internal sealed class WireException : Exception
{
    public WireException(int status, string error, string message)
        : base(message)
    {
        Status = status;
        Error = error;
    }

    /// <summary>The HTTP status to answer.</summary>
    public int Status { get; }

    /// <summary>Chroma's error name for the body.</summary>
    public string Error { get; }

    /// <summary>A body that does not parse as JSON (400, as Chroma's server).</summary>
    public static WireException NotJson(string detail) =>
        new(400, "InvalidArgumentError", $"Failed to parse the request body as JSON: {detail}");

    /// <summary>JSON of the wrong shape (422, as Chroma's server).</summary>
    public static WireException Shape(string field, string detail) =>
        new(422, "ChromaError", $"Failed to deserialize the JSON body into the target type: {field}: {detail}");
}
