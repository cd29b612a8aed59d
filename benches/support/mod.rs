//! What both benchmarks share: a generated OpenAPI 3.0 document of a chosen size.
//!
//! The document is what a large real API looks like to specgate: many paths, each with a
//! `get` and a `put` under OAuth2, a path parameter shared by the path item, query parameters,
//! a JSON request body and documented responses, all `$ref`-ing a pool of shared component
//! schemas (nested objects, arrays, enums, a recursive `Error`). Descriptions are padded so that
//! the text reaches the size asked for.

/// Component schema families shared by the operations (`Resource0`, `ResourceUpdate0`, …).
const SHARED_SCHEMAS: usize = 40;

/// A spec with `operations` operations (rounded up to an even number) of about `bytes` bytes.
pub fn big_spec(operations: usize, bytes: usize) -> String {
    let paths = operations.div_ceil(2);
    let unpadded = render(paths, 0);
    let padding = bytes.saturating_sub(unpadded.len()) / (paths * 3).max(1);
    render(paths, padding)
}

fn render(paths: usize, padding: usize) -> String {
    let filler = filler(padding);
    let mut out = String::with_capacity(paths * (4096 + 3 * padding));
    out.push_str(
        "openapi: 3.0.3\n\
         info:\n  title: Generated benchmark API\n  version: \"1.0\"\n\
         servers:\n  - url: https://api.example.com\n\
         paths:\n",
    );
    for n in 0..paths {
        let k = n % SHARED_SCHEMAS;
        out.push_str(&format!(
            r##"  /service{group}/api/v1/resources{n}/{{resource_id}}:
    parameters:
      - name: resource_id
        in: path
        description: The resource's identifier.{filler}
        required: true
        schema:
          type: string
          format: uuid
    get:
      operationId: GetResource{n}
      summary: Get resource {n}
      description: Returns one resource of kind {n} with its attributes.{filler}
      tags:
        - Group{group}
      parameters:
        - name: fields
          in: query
          description: Comma-separated attributes to return.
          schema:
            type: string
        - name: limit
          in: query
          schema:
            type: integer
            minimum: 1
            maximum: 1000
            default: 50
      security:
        - oauth:
            - user
      responses:
        "200":
          description: The resource.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Resource{k}"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          description: Forbidden
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
        "404":
          description: Not found
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
        "500":
          description: Internal server error
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
    put:
      operationId: UpdateResource{n}
      summary: Update resource {n}
      description: Replaces the attributes of one resource of kind {n}.{filler}
      tags:
        - Group{group}
      security:
        - oauth:
            - usersManage
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/ResourceUpdate{k}"
      responses:
        "200":
          description: The updated resource.
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Resource{k}"
        "400":
          $ref: "#/components/responses/BadRequest"
        "401":
          $ref: "#/components/responses/Unauthorized"
        "403":
          description: Forbidden
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
        "404":
          description: Not found
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
        "409":
          description: Conflict
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
        "500":
          description: Internal server error
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Error"
"##,
            group = n % 10,
        ));
    }
    out.push_str(
        r##"components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        authorizationCode:
          authorizationUrl: https://api.example.com/oauth/authorize
          tokenUrl: https://api.example.com/oauth/token
          scopes:
            user: Normal users
            usersManage: Clients that manage users
  responses:
    BadRequest:
      description: Bad request
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
    Unauthorized:
      description: Unauthorized
      content:
        application/json:
          schema:
            $ref: "#/components/schemas/Error"
  schemas:
    Error:
      type: object
      required:
        - error_code
      properties:
        error_code:
          type: string
          enum:
            - GENERAL_ERROR
            - BAD_REQUEST
            - PERMISSION_DENIED
            - INVALID_REQUEST_DATA
            - REQUIRED_VALUE_MISSING
        error_message:
          type: string
        property:
          type: string
        details:
          type: array
          items:
            $ref: "#/components/schemas/Error"
    Tag:
      type: object
      required:
        - key
      properties:
        key:
          type: string
          minLength: 1
          maxLength: 64
        value:
          type: string
          nullable: true
"##,
    );
    for k in 0..SHARED_SCHEMAS {
        out.push_str(&format!(
            r##"    Resource{k}:
      type: object
      required:
        - id
        - name
        - state
      properties:
        id:
          type: string
          format: uuid
        name:
          type: string
          minLength: 1
          maxLength: 128
        state:
          type: string
          enum:
            - active
            - disabled
            - deleted
        size:
          type: integer
          minimum: 0
          maximum: 1000000
        ratio:
          type: number
          minimum: 0
          maximum: 1
        created:
          type: string
          format: date-time
        tags:
          type: array
          maxItems: 32
          items:
            $ref: "#/components/schemas/Tag"
        owner:
          type: object
          properties:
            user_id:
              type: string
            display_name:
              type: string
              nullable: true
        last_error:
          $ref: "#/components/schemas/Error"
    ResourceUpdate{k}:
      type: object
      required:
        - name
      additionalProperties: false
      properties:
        name:
          type: string
          minLength: 1
          maxLength: 128
          example: resource-{k}
        state:
          type: string
          enum:
            - active
            - disabled
        size:
          type: integer
          minimum: 0
          maximum: 1000000
        tags:
          type: array
          maxItems: 32
          uniqueItems: true
          items:
            $ref: "#/components/schemas/Tag"
"##
        ));
    }
    out
}

/// ` Lorem ipsum …` of about `len` bytes (one line: YAML plain scalars may not hold `: `).
fn filler(len: usize) -> String {
    const WORDS: &str = " The service keeps this value consistent across replicas and audits \
                         every change to it so that operators can trace who did what and when.";
    WORDS.chars().cycle().take(len).collect()
}
